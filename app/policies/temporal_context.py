"""What the temporal answerers share: the question in context, finding what it names on the timeline,
and writing the answer action (the answer first, then its evidence and span).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.agent import AgentState
from app.answer import LETTERS, Evidence
from app.policies.timeline_reading import (
    SPEECH,
    Showing,
    around,
    best,
    evidence_indices,
    modalities,
    passage,
    pick,
    results,
    says,
    showings,
    strong,
)
from app.questions import TemporalQuestion
from app.scoring import phrase_match
from app.toolbox import Action
from memory.timeline import same_text

NEAR = 3.0  # seconds either side of an asked moment still read, in case sampling placed an edge past it


@dataclass(frozen=True)
class Context:
    """A question as the temporal answerers see it: parsed, with the agent's state."""

    question: TemporalQuestion
    state: AgentState

    @property
    def duration(self) -> float | None:
        return self.state.duration

    @property
    def window(self) -> tuple[float, float] | None:
        return self.question.span(self.duration)


@dataclass(frozen=True)
class TemporalKind:
    plan: Callable[[Context], list[Action]]
    answer: Callable[[Context], Action | None]


# -- finding things ---------------------------------------------------------------------------


def lookup(query: str, modality: str, window: tuple[float, float] | None = None, after: float | None = None) -> Action:
    """Every occurrence of `query` in the modality, within the window if any."""
    args: dict = {"query": query, "modalities": modalities(modality)}
    if window is not None:
        args["after"] = max(0.0, window[0] - NEAR)
        if window[1] != float("inf"):
            args["before"] = window[1] + NEAR
    if after is not None:
        args["after"] = max(after, args.get("after", 0.0))
    return Action("occurrences", args)


def target_lookup(c: Context) -> Action | None:
    q = c.question
    return lookup(q.target, q.modality, c.window) if q.target else None


def found_showings(
    c: Context, action: Action | None, target: str, quoted: bool, presupposed: bool = False
) -> list[Showing] | None:
    """The showings of a target an action found: strong matches; failing those, the best match (and every
    reading of its text) for an unquoted topic, or for a quotation the question takes as having happened
    ("when is 'X' said?": speech recognition may have misheard a word of it)."""
    if action is None:
        return None
    hits = results(c.state, action)
    if hits is None:
        return None
    matched = strong(target, quoted, hits)
    # every reading of a text said in full somewhere, so one that OCR cut short ("WET FLOOR IN HALL") still counts
    matched += [h for h in hits if h not in matched and any(same_text(h.text, m.text) for m in matched)]
    if not matched and (presupposed or not quoted):
        top = best(target, quoted, hits)
        if top is not None and says(target, quoted, top.text) > 0:
            matched = [h for h in hits if h.modality == top.modality and same_text(h.text, top.text)]
    return showings(matched)


def speech_plan(c: Context, action: Action | None, target: str, quoted: bool, modality: str) -> list[Action]:
    """After a speech lookup, the speech around the best utterance, so a passage is read whole."""
    if action is None or modality == "text":
        return []
    hits = results(c.state, action)
    top = best(target, quoted, [h for h in hits or () if h.modality in SPEECH])
    return [around(top)] if top is not None else []


def widened(c: Context, showing: Showing, target: str, quoted: bool) -> Showing:
    """A showing of speech widened (or narrowed) to the utterances that say the target."""
    first = showing.parts[0]
    if first.modality not in SPEECH:
        return showing
    nearby = results(c.state, around(first))
    return passage(target, quoted, first, nearby or ())


def reply(c: Context, text: str, used: Sequence[Evidence], span: tuple[float, float] | None, choice: int | None = None) -> Action:
    args: dict = {"text": text, "evidence": evidence_indices(c.state, used)[:20]}
    if span is not None:
        args["span"] = [span[0], span[1]]
    if choice is not None:
        args["choice"] = LETTERS[choice]
        args["text"] = f"{c.state.options[choice]}: {text}" if text else c.state.options[choice]
    return Action("answer", args)


def not_found(c: Context, what: str) -> Action:
    absent = c.question.absent_option
    text = f"Not found in this video: nothing shows or says {what}."
    return reply(c, text, (), None, absent) if absent is not None else reply(c, text, (), None)


def best_option(c: Context, texts: Sequence[str]) -> int | None:
    """The option (not an absent one) said best by any of `texts`; None when none is said at all."""
    scores = [
        (max((phrase_match(o.query, t) for t in texts), default=0.0), -i) if not o.absent else (0.0, -i)
        for i, o in enumerate(c.question.options)
    ]
    score, index = max(scores, default=(0.0, 0))
    return -index if score > 0 else None


def quote(text: str) -> str:
    return f"'{text.strip()}'"


def the_one(c: Context, action: Action | None, target: str, quoted: bool, nth: int | None) -> Showing | None:
    """The showing a question means: the n-th when it says which, else the one that says the target best;
    a spoken one widened to the utterances that say it."""
    found = found_showings(c, action, target, quoted, presupposed=True)
    if not found:
        return None
    if nth is not None:
        showing = pick(found, nth)
    else:
        top = best(target, quoted, [p for s in found for p in s.parts])
        showing = next(s for s in found if top in s.parts)
    return widened(c, showing, target, quoted) if showing else None


def readings_plan(text: str, modality: str | None) -> list[Action]:
    """Every reading of an on-screen text across the video, from which `fullest` takes the most complete."""
    return [Action("occurrences", {"query": text, "modalities": ["text"]})] if modality == "text" else []


def fullest(c: Context, text: str, modality: str | None) -> str:
    """The most complete reading of an on-screen text (OCR may cut one showing short: "WET FLOOR IN HALL"
    for "WET FLOOR IN HALL D"): of its readings across the video, the one with the most words, the most
    often read among those; the text itself for speech or before the readings are looked up."""
    plan = readings_plan(text, modality)
    hits = results(c.state, plan[0]) if plan else None
    same = [h.text for h in hits or () if same_text(h.text, text)] + [text]
    return max(same, key=lambda t: (len(t.split()), same.count(t)))
