"""The library as the picker and the table show it."""

from __future__ import annotations

import pytest

from app.web.library import library_rows, video_choices

slow = pytest.mark.slow


@slow
def test_library_lists_videos_newest_first_with_their_state(library, jobs, parcel_id, video_id):
    choices = video_choices(library, jobs)
    assert choices[0][1] == parcel_id and "parcel.mp4" in choices[0][0] and "ready" in choices[0][0]
    assert video_id in [value for _, value in choices]
    rows = {row[4]: row for row in library_rows(library, jobs)}
    assert rows[video_id][0] == "notices.mp4" and rows[video_id][1] == "1:00" and rows[video_id][2] == "ready"
