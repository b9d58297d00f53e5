"""Ingest's decoding lanes: two readers taking alternate spans hand the pipeline every span in
order, with the frames one reader gives, and stop together when the pipeline stops early."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from memory.ingest.decode import decoding
from memory.ingest.spans import plan_spans
from memory.ingest.tracker import IngestTracker
from perception.video import VideoReader
from tests.synth import make_video, read_index


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("lanes") / "clip.mp4", 20.0, fps=10)


def decode_all(path: Path, lanes: int, span_seconds: float = 3.0, max_side: int | None = None) -> list:
    """(span, frames, times, indices, skipped) of every span, decoded by `lanes` readers."""
    with VideoReader(path, max_side=max_side, threads=1) as reader:
        readers = [reader, *(reader.twin() for _ in range(lanes - 1))]
        tracker = IngestTracker("v", path.name, None)
        tracker.begin(reader.info.duration, ["decode"], 0.0)
        spans = list(plan_spans(0.0, reader.info.duration, 1.0, span_seconds))
        try:
            with decoding(readers, spans, 1.0, tracker, ahead=2) as batches:
                got = [(span, batch.frames, batch.times.tolist(), batch.indices.tolist()) for span, batch in batches]
        finally:
            for twin in readers[1:]:
                twin.close()
        assert tracker.positions["decode"] == reader.info.duration
    return got


def test_two_lanes_give_every_span_in_order_with_one_readers_frames(clip):
    one, two = decode_all(clip, 1), decode_all(clip, 2)
    assert [span for span, *_ in two] == list(plan_spans(0.0, 20.0, 1.0, 3.0))
    assert [(s, t, i) for s, _, t, i in two] == [(s, t, i) for s, _, t, i in one]
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(one, two))
    indices = [i for *_, batch_indices in two for i in batch_indices]
    assert [read_index(frame) for _, frames, *_ in two for frame in frames] == indices
    assert indices == list(range(0, 200, 10))


@pytest.mark.integration
@pytest.mark.parametrize("name", ["one-by-one-person-detection.mp4", "vtest.avi", "big_buck_bunny_0_30.webm"])
def test_two_lanes_decode_real_video_as_one_does(media, name):
    one, two = decode_all(media / "video" / name, 1, 4.0, 448), decode_all(media / "video" / name, 2, 4.0, 448)
    assert [(s, t, i) for s, _, t, i in two] == [(s, t, i) for s, _, t, i in one]
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(one, two))


def test_leaving_early_stops_every_lane(clip):
    with VideoReader(clip, threads=1) as reader, reader.twin() as twin:
        tracker = IngestTracker("v", clip.name, None)
        tracker.begin(reader.info.duration, ["decode"], 0.0)
        spans = list(plan_spans(0.0, reader.info.duration, 1.0, 2.0))
        with decoding([reader, twin], spans, 1.0, tracker, ahead=1) as batches:
            first, second = next(batches), next(batches)
        assert (first[0], second[0]) == (spans[0], spans[1])
        assert not [thread for thread in threading.enumerate() if thread.name.startswith("longshot-decode")]
