"""The ingest account alone: nested stage times, positions that only move forward within the
video, counters, warnings, and the progress reports made of them."""

from __future__ import annotations

import threading

from memory.ingest import tracker as tracker_module
from memory.ingest.tracker import IngestProgress, IngestTracker


def test_an_inner_stage_is_taken_out_of_its_enclosing_one(monkeypatch):
    ticks = iter([100.0, 101.0, 102.0, 104.0, 107.0])  # start; commit from 101; semantic 102-104; commit ends at 107
    monkeypatch.setattr(tracker_module, "clock", lambda: next(ticks))
    tracker = IngestTracker("v", "v.mp4", None)
    with tracker.timed("commit"):
        with tracker.timed("semantic", inner_of="commit"):
            pass
    assert tracker.busy() == {"commit": 4.0, "semantic": 2.0}


def test_positions_move_forward_only_and_stop_at_the_end():
    events: list[IngestProgress] = []
    tracker = IngestTracker("v", "v.mp4", events.append)
    tracker.begin(45.0, ["decode", "ocr"], at=10.0)
    tracker.advance("decode", 30.0)
    tracker.advance("decode", 20.0)  # a late report from an earlier span
    tracker.advance("decode", 60.0)  # past the end of the video
    tracker.advance("commit", 30.0)
    tracker.report("done")
    assert [e.stage for e in events] == ["start", "decode", "decode", "decode", "commit", "done"]
    assert events[0].stages == (("decode", 10.0), ("ocr", 10.0), ("commit", 10.0))
    assert [dict(e.stages)["decode"] for e in events[1:4]] == [30.0, 30.0, 45.0]
    assert [e.done for e in events] == [10.0, 10.0, 10.0, 10.0, 30.0, 45.0]
    assert events[4].eta is not None and events[-1].eta is None and all(e.total == 45.0 for e in events)


def test_decode_tracked_before_the_models_load_keeps_its_place_when_reporting_begins():
    events: list[IngestProgress] = []
    tracker = IngestTracker("v", "v.mp4", events.append)
    tracker.prepare(60.0, ["decode"], at=30.0)
    tracker.advance("decode", 40.0)  # the decoder runs while the models load
    tracker.begin(60.0, ["decode", "ocr", "speech"], at=30.0)
    assert [e.stage for e in events] == ["start"]  # nothing is reported before reporting begins
    assert events[-1].stages == (("decode", 40.0), ("ocr", 30.0), ("speech", 30.0), ("commit", 30.0))


def test_counters_and_warnings_add_up_across_threads():
    tracker = IngestTracker("v", "v.mp4", None)

    def work() -> None:
        for _ in range(1000):
            tracker.count("frames")
        tracker.warn("a warning")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tracker.counters["frames"] == 4000 and tracker.warnings == ["a warning"] * 4
