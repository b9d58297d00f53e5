"""Which on-screen texts are notices: text laid over the picture or placed in view to be read, as opposed
to the footage's own text (a film's title card faded over the sky, a stylised logo, a sign far off).

A question about "the first notice", "the final message" or "the text on screen at 10:13" means the
former, while the timeline holds every text OCR read. Ingest stores how each text run looks
(`memory.text_look`: contrast, OCR confidence, agreement of its readings); `likeness` folds that into
one figure and `notices` keeps the texts nearly as notice-like as the most notice-like one among them,
so a question over several texts picks from those meant to be read. Texts stored before looks were
measured are all alike (likeness 1), which leaves the choice to time as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from app.answer import Evidence
from app.policies.timeline_reading import Showing

NOTICE_SHARE = 0.4  # a text at least this share as notice-like as the most notice-like one is a notice too
SURE = 0.5  # OCR confidence at or below this says nothing is read cleanly; 1 is a clean reading

T = TypeVar("T")


def likeness(item: Evidence) -> float:
    """How notice-like an occurrence of on-screen text is, 0-1: legible (letters that stand out from what
    is behind them) times cleanly read (a confident reading, the same on every frame). 1 when unmeasured."""
    data = item.data
    if item.modality != "text" or "contrast" not in data:
        return 1.0
    clean = min(1.0, max(0.0, (float(data.get("confidence", 1.0)) - SURE) / (1.0 - SURE))) ** 2
    steady = 0.5 + 0.5 * float(data.get("agreement", 1.0))
    return float(data["contrast"]) * clean * steady


def showing_likeness(showing: Showing) -> float:
    """A showing's likeness: its most notice-like part's (a flicker of a misreading does not lower it)."""
    return max((likeness(p) for p in showing.parts), default=1.0)


def notices(showings: Sequence[Showing]) -> list[Showing]:
    """The showings nearly as notice-like as the most notice-like of them (NOTICE_SHARE), in the order given."""
    return _nearly_best(showings, [showing_likeness(s) for s in showings])


def notice_items(items: Sequence[Evidence]) -> list[Evidence]:
    """`notices` of single occurrences."""
    return _nearly_best(items, [likeness(e) for e in items])


def _nearly_best(items: Sequence[T], scores: Sequence[float]) -> list[T]:
    bar = NOTICE_SHARE * max(scores, default=0.0)
    return [item for item, score in zip(items, scores) if score >= bar]
