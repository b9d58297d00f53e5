"""The Search tab over the session library (the notices video, and the parcel video uploaded by the web
tests): moments across every video with their keyframes, and answers across the library with evidence
frames from each video they name, through the running app as a browser would call it."""

from __future__ import annotations

import pytest
from gradio_client import Client

from app.web.search import answer_frames, answer_markdown, moment_frames, moment_rows
from perception.timefmt import format_span
from tests.app.conftest import NOTICES
from tests.app.web.serving import started

slow = pytest.mark.slow


def test_moments_become_rows_and_captioned_keyframes_that_play_their_moment(library, video_id):
    found = library.search("vault code", k=3)
    shown_from, shown_to = NOTICES[0][:2]  # the notice's run of frames, read at the ingest's sample times
    assert abs(found[0].start - shown_from) <= 1 and abs(found[0].end - shown_to) <= 1
    rows = moment_rows(found)
    assert rows[0][:3] == ["notices.mp4", format_span(found[0].start, found[0].end), "text"] and "VAULT CODE 4172" in rows[0][3]
    frames = moment_frames(library, found)
    view, target = frames[0]
    assert view.caption.startswith("notices.mp4 · 0:2") and target == (video_id, found[0].start)


@slow
def test_an_answer_across_the_library_shows_frames_from_every_video_it_names(library, parcel_id, video_id):
    answer = library.ask("What number is shown on screen?")
    named = {a.video for a in answer.answers}
    assert named == {parcel_id, video_id}, answer_markdown(answer)
    frames = answer_frames(library, answer)
    assert {target[0] for _, target in frames} == named
    assert {view.caption.split(" · ")[0] for view, _ in frames} == {"parcel.mp4", "notices.mp4"}
    text = answer_markdown(answer)
    assert "**parcel.mp4**" in text and "**notices.mp4**" in text and "Videos tried:" in text


@slow
def test_the_running_app_searches_and_asks_the_library(library, parcel_id):
    app, url = started(library)
    try:
        client = Client(url, verbose=False, analytics_enabled=False)
        note, gallery, table = client.predict("parcel ready", ["text"], api_name="/search_library")
        assert note == "" and table["data"][0][0] == "parcel.mp4" and table["data"][0][2] == "text"
        assert gallery and gallery[0]["caption"].startswith("parcel.mp4 · ")
        answer, gallery, table = client.predict("What is the parcel number?", api_name="/ask_library")
        assert "**parcel.mp4**" in answer and "5531" in answer
        assert gallery and all(item["caption"].startswith(("parcel.mp4 · ", "notices.mp4 · ")) for item in gallery)
    finally:
        app.close()
