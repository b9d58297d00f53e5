"""Roll-up alone: which coarser segments a span closes, which children each is made of (those
committed before the span and those it makes), and what a parent keeps of them."""

from __future__ import annotations

from memory.compose import merge_captions
from memory.episodic import SegmentDraft
from memory.ingest.rollup import closed_by, parent, roll_up
from memory.ingest.spans import Span


def base(start: float, end: float, text: str = "", keyframes: tuple[int, ...] = ()) -> SegmentDraft:
    return SegmentDraft(10.0, start, end, caption=f"Said {text}.", speech_text=text, keyframes=keyframes)


class Committed:
    """Committed segments by scale, answering as the episodic memory does (overlapping, in time order)."""

    def __init__(self, *segments: SegmentDraft):
        self.segments = list(segments)
        self.asked: list[tuple[float, float, float]] = []

    def __call__(self, scale: float, start: float, end: float) -> list[SegmentDraft]:
        self.asked.append((scale, start, end))
        return [s for s in self.segments if s.scale == scale and s.end > start and s.start <= end]


def merge(start: float, end: float, captions) -> str:
    return merge_captions(captions)


def test_a_span_closes_the_parents_that_end_inside_it():
    assert closed_by(Span(0.0, 20.0, ()), 30.0, 45.0) == []
    assert closed_by(Span(20.0, 40.0, ()), 30.0, 45.0) == [(0.0, 30.0)]
    assert closed_by(Span(40.0, 45.0, ()), 30.0, 45.0) == [(30.0, 45.0)]  # cut at the end of the video
    assert closed_by(Span(0.0, 60.0, ()), 20.0, 60.0) == [(0.0, 20.0), (20.0, 40.0), (40.0, 60.0)]


def test_a_parent_gathers_committed_and_fresh_children_in_time_order():
    committed = Committed(base(0, 10, "one", (0, 1, 2)), base(10, 20, "two", (10, 11)))
    span = Span(20.0, 40.0, ((20.0, 30.0), (30.0, 40.0)))
    fresh = [base(20, 30, "three", (20,)), base(30, 40, "four", (30, 31))]
    (made,) = roll_up(span, 10.0, [30.0], 45.0, fresh, committed, merge)
    assert (made.scale, made.start, made.end) == (30.0, 0.0, 30.0)
    assert made.speech_text == "one two three"  # the fourth child belongs to the next parent
    assert made.caption == "Said one. Said two. Said three."
    assert made.keyframes == (0, 2, 20)  # three of the six, spread, the first and last included
    assert committed.asked == [(10.0, 0.0, 30.0)]


def test_a_fresh_child_replaces_a_committed_one_at_the_same_start():
    committed = Committed(base(0, 10, "stale"))
    (made,) = roll_up(Span(0.0, 30.0, ()), 10.0, [30.0], 30.0, [base(0, 10, "fresh")], committed, merge)
    assert made.speech_text == "fresh"


def test_parents_closed_at_one_scale_are_the_children_of_the_next():
    summaries = []

    def summarise(start: float, end: float, captions) -> str:
        summaries.append((start, end, list(captions)))
        return f"Summary of {start:g}-{end:g}."

    committed = Committed(
        base(0, 10, "a"), base(10, 20, "b"), SegmentDraft(30.0, 0.0, 30.0, caption="Earlier summary.", speech_text="a b c")
    )
    span = Span(20.0, 60.0, ((20.0, 30.0), (30.0, 40.0), (40.0, 50.0), (50.0, 60.0)))
    fresh = [base(20, 30, "c"), base(30, 40, "d"), base(40, 50, "e"), base(50, 60, "f")]
    made = roll_up(span, 10.0, [30.0, 60.0], 60.0, fresh, committed, summarise)
    assert [(p.scale, p.start, p.end) for p in made] == [(30.0, 0.0, 30.0), (30.0, 30.0, 60.0), (60.0, 0.0, 60.0)]
    assert made[2].speech_text == "a b c d e f"
    assert summaries[2] == (0.0, 60.0, ["Summary of 0-30.", "Summary of 30-60."])  # the fresh parents, not the committed one


def test_a_parent_without_children_is_not_made():
    assert roll_up(Span(20.0, 40.0, ()), 10.0, [30.0], 45.0, [], Committed(), merge) == []


def test_a_parent_keeps_each_line_and_object_once():
    children = [
        SegmentDraft(10.0, 0, 10, ocr_text="EXIT\nGATE 4", objects=("person",)),
        SegmentDraft(10.0, 10, 20, ocr_text="GATE 4\nPLATFORM 2", objects=("person", "train")),
    ]
    made = parent(30.0, 0.0, 30.0, children, "A caption.")
    assert (made.ocr_text, made.objects, made.caption) == ("EXIT\nGATE 4\nPLATFORM 2", ("person", "train"), "A caption.")
