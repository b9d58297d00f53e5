"""The loop's own rules on evidence, whatever a tool returns: each item once, nothing after `until`."""

from __future__ import annotations

from app.agent import ended_by, identity, unseen
from app.answer import Evidence
from memory.frames import FrameRef


def item(text: str, start: float = 0.0, end: float = 10.0, key: str = "", frames=()) -> Evidence:
    return Evidence("segment", start, end, text, 0.5, tuple(frames), key)


def test_an_item_is_kept_once_even_when_a_tool_returns_it_twice() -> None:
    a, b = item("a", key="segment:1"), item("b", key="segment:2")
    assert unseen([a, b, a], seen=set()) == (a, b)
    assert unseen([a, b], seen={identity(a)}) == (b,)


def test_items_without_a_key_are_told_apart_by_what_they_say_and_when() -> None:
    first, other_text, other_time = item("x"), item("y"), item("x", start=20, end=30)
    assert len({identity(first), identity(other_text), identity(other_time)}) == 3
    assert unseen([first, item("x"), other_text, other_time], seen=set()) == (first, other_text, other_time)


def test_nothing_after_until_passes() -> None:
    assert ended_by(item("a", end=30), 30.0) and ended_by(item("a", end=99), None)
    assert not ended_by(item("a", end=31), 30.0)
    assert not ended_by(item("a", end=20, frames=[FrameRef("v", 40, 40.0)]), 30.0), "a frame after until"
