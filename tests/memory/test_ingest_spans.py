"""Span planning alone: spans tile the video in whole base segments, and a run resumed from any
commit plans exactly the spans an uninterrupted run had left."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from memory.ingest.spans import Span, plan_spans, span_seconds


def test_a_span_holds_as_many_whole_segments_as_a_batch_fills():
    assert span_seconds(10.0, 1.0, 32) == 30.0  # 32 frames fill three 10-frame segments
    assert span_seconds(10.0, 2.0, 40) == 20.0
    assert span_seconds(10.0, 2.0, 10) == 10.0  # fewer frames than one segment: still one segment
    assert span_seconds(5.0, 0.1, 1) == 5.0  # a segment of half a frame counts as one frame


def test_the_last_span_and_segment_are_cut_at_the_end():
    spans = list(plan_spans(0.0, 45.0, 10.0, 20.0))
    assert [(s.start, s.end, s.segments) for s in spans] == [
        (0.0, 20.0, ((0.0, 10.0), (10.0, 20.0))),
        (20.0, 40.0, ((20.0, 30.0), (30.0, 40.0))),
        (40.0, 45.0, ((40.0, 45.0),)),
    ]


def test_a_finished_video_plans_nothing():
    assert list(plan_spans(45.0, 45.0, 10.0, 20.0)) == []


def test_times_go_to_their_segment_and_stray_frames_to_the_nearer_end():
    span = Span(20.0, 40.0, ((20.0, 30.0), (30.0, 40.0)))
    times = np.array([19.0, 20.0, 29.9, 30.0, 39.9, 40.5])
    assert span.segment_of(times).tolist() == [0, 0, 0, 1, 1, 1]


@given(
    segment=st.sampled_from([1.0, 2.5, 10.0]),
    per_span=st.integers(1, 5),
    duration=st.floats(0.5, 300.0, allow_nan=False),
)
def test_spans_tile_the_video_and_resuming_at_any_commit_plans_the_rest(segment, per_span, duration):
    length = segment * per_span
    spans = list(plan_spans(0.0, duration, segment, length))
    assert spans[0].start == 0.0 and abs(spans[-1].end - duration) < 1e-6
    for before, after in itertools.pairwise(spans):
        assert before.end == after.start
    for span in spans:
        assert span.segments[0][0] == span.start and span.segments[-1][1] == span.end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(span.segments))
        assert all(0 < end - start <= segment + 1e-9 for start, end in span.segments)
    for k, span in enumerate(spans):
        assert list(plan_spans(span.end, duration, segment, length)) == spans[k + 1 :]
