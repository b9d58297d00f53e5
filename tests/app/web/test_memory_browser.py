"""The memory browser as plain data: the timeline at each scale, entities, facts and their moments."""

from __future__ import annotations

import pytest

from app.web.memory_browser import delete_fact, entity_rows, fact_moments, fact_rows, timeline_figure, timeline_rows

slow = pytest.mark.slow


@slow
def test_timeline_rows_per_scale_and_figure(library, video_id):
    base = timeline_rows(library, video_id, "10.0")
    assert [row[1] for row in base] == ["0:00", "0:10", "0:20", "0:30", "0:40", "0:50"]
    assert any("VAULT CODE 4172" in row[4] for row in base)
    assert {row[0] for row in timeline_rows(library, video_id, "all")} == {"0:10", "0:30"}
    figure = timeline_figure(library, video_id)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["0:10 segments", "0:30 segments", "facts"]


@slow
def test_entities_and_facts_with_their_moments(library, video_id):
    assert "VAULT CODE 4172" in [row[0] for row in entity_rows(library, video_id)]
    row = next(r for r in fact_rows(library, video_id) if "4172" in r[3])
    assert row[7].startswith("0:20-0:30")
    text, frames = fact_moments(library, video_id, row[0])
    assert "4172" in text and frames and all(20 <= f.time < 30 for f in frames)


@slow
def test_deleting_a_fact_removes_it_and_its_orphan_entity(library, parcel_id):
    rows = fact_rows(library, parcel_id)
    fact = next(r for r in rows if "5531" in r[3])
    assert "Deleted fact" in delete_fact(library, fact[0])
    assert fact[0] not in [r[0] for r in fact_rows(library, parcel_id)]
    assert fact[1] not in [r[0] for r in entity_rows(library, parcel_id)]
