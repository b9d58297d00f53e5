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

NOTICE_SHARE = 0.5  # a text at least this share as legible, and as cleanly read, as the best among them is a notice too
SURE = 0.5  # OCR confidence at or below this says nothing is read cleanly; 1 is a clean reading

T = TypeVar("T")


def qualities(item: Evidence) -> tuple[float, float]:
    """How legible an occurrence of on-screen text is (its letters' contrast against what is behind them)
    and how cleanly it is read (a confident reading, the same on every frame), each 0-1; 1 when unmeasured."""
    data = item.data
    if item.modality != "text" or "contrast" not in data:
        return 1.0, 1.0
    confident = min(1.0, max(0.0, (float(data.get("confidence", 1.0)) - SURE) / (1.0 - SURE))) ** 2
    steady = 0.5 + 0.5 * float(data.get("agreement", 1.0))
    return float(data["contrast"]), confident * steady


def likeness(item: Evidence) -> float:
    """How notice-like an occurrence is, 0-1: legible times cleanly read (`qualities`); 1 when unmeasured."""
    legible, clean = qualities(item)
    return legible * clean


def showing_likeness(showing: Showing) -> float:
    """A showing's likeness: its most notice-like part's (a flicker of a misreading does not lower it)."""
    return max((likeness(p) for p in showing.parts), default=1.0)


def notices(showings: Sequence[Showing]) -> list[Showing]:
    """The showings nearly as legible and as cleanly read as the best of them (NOTICE_SHARE), in the order given."""
    return _nearly_best(showings, [qualities(max(s.parts, key=likeness)) for s in showings])


def notice_items(items: Sequence[Evidence]) -> list[Evidence]:
    """`notices` of single occurrences."""
    return _nearly_best(items, [qualities(e) for e in items])


def _nearly_best(items: Sequence[T], scores: Sequence[tuple[float, float]]) -> list[T]:
    """The items whose every quality is at least NOTICE_SHARE of the best item's in that quality: a text clearly
    fainter than the notices (a title faded over the sky), or read far less surely (a logo), is not one.
    When none is best in both, none stands out as a notice, and all are kept."""
    if not scores:
        return []
    bars = [NOTICE_SHARE * max(axis) for axis in zip(*scores)]
    kept = [item for item, score in zip(items, scores) if all(q >= bar for q, bar in zip(score, bars))]
    return kept or list(items)
