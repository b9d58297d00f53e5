"""Temporal questions answered from the event timeline: find the event a question is about (or hangs on)
first, then read the answer off the occurrences' own times.

KINDS maps each kind of `app.questions` this answers to a `TemporalKind`: `plan` names the timeline
actions worth taking given what earlier ones returned (a relational question first finds its
reference event, then reads around it), and `answer` turns what came back into an answer action,
or None to leave the question to the general path (segment search, extractive answers). A new
kind of question (motion, say) is a new entry. Answers lead with the answer ("3 times, at 4:12,
17:40 and 33:05", "about 45 seconds, 12:05-12:50", "at 7:42-7:49: ..."), then the evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.agent import AgentState
from app.answer import LETTERS, Evidence
from app.policies.timeline_reading import (
    RUN_GAP,
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
from app.questions import TemporalQuestion, format_count, format_duration, parse_question
from app.scoring import phrase_match
from app.toolbox import Action
from memory.timeline import same_text
from perception.timefmt import format_span

SLACK = 1.5  # seconds a reply's boundary may be off: speech and sampled frames place an edge only so closely
REACH = 90.0  # seconds looked at after (before) an event for what comes right after (before) it
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


def _target_lookup(c: Context) -> Action | None:
    q = c.question
    return lookup(q.target, q.modality, c.window) if q.target else None


def _found(c: Context, action: Action | None, target: str, quoted: bool) -> list[Showing] | None:
    """The showings of a target an action found: strong matches; for an unquoted topic, its best match at least."""
    if action is None:
        return None
    hits = results(c.state, action)
    if hits is None:
        return None
    matched = strong(target, quoted, hits)
    if not matched and not quoted:  # a topic names one thing: the best match, and every reading of the same text
        top = best(target, quoted, hits)
        if top is not None and says(target, quoted, top.text) > 0:
            matched = [h for h in hits if h.modality == top.modality and same_text(h.text, top.text)]
    return showings(matched)


def _speech_plan(c: Context, action: Action | None, target: str, quoted: bool, modality: str) -> list[Action]:
    """After a speech lookup, the speech around the best utterance, so a passage is read whole."""
    if action is None or modality == "text":
        return []
    hits = results(c.state, action)
    top = best(target, quoted, [h for h in hits or () if h.modality in SPEECH])
    return [around(top)] if top is not None else []


def _whole(c: Context, showing: Showing, target: str, quoted: bool) -> Showing:
    """A showing of speech widened (or narrowed) to the utterances that say the target."""
    first = showing.parts[0]
    if first.modality not in SPEECH:
        return showing
    nearby = results(c.state, around(first))
    return passage(target, quoted, first, nearby or ())


def _answer(
    c: Context, text: str, used: Sequence[Evidence], span: tuple[float, float] | None, choice: int | None = None
) -> Action:
    args: dict = {"text": text, "evidence": evidence_indices(c.state, used)[:20]}
    if span is not None:
        args["span"] = [span[0], span[1]]
    if choice is not None:
        args["choice"] = LETTERS[choice]
        args["text"] = f"{c.state.options[choice]}: {text}" if text else c.state.options[choice]
    return Action("answer", args)


def _not_found(c: Context, what: str) -> Action:
    absent = c.question.absent_option
    text = f"Not found in this video: nothing shows or says {what}."
    return _answer(c, text, (), None, absent) if absent is not None else _answer(c, text, (), None)


def _best_option(c: Context, texts: Sequence[str]) -> int | None:
    """The option (not an absent one) said best by any of `texts`; None when none is said at all."""
    scores = [
        (max((phrase_match(o.query, t) for t in texts), default=0.0), -i) if not o.absent else (0.0, -i)
        for i, o in enumerate(c.question.options)
    ]
    score, index = max(scores, default=(0.0, 0))
    return -index if score > 0 else None


def _quote(text: str) -> str:
    return f"'{text.strip()}'"


# -- count, duration, when ---------------------------------------------------------------------------


def _plan_found(c: Context) -> list[Action]:
    q = c.question
    action = _target_lookup(c)
    if action is None:
        return []
    return [action, *_speech_plan(c, action, q.target, q.quoted, q.modality)]


def _count(c: Context) -> Action | None:
    q = c.question
    found = _found(c, _target_lookup(c), q.target, q.quoted)
    if found is None:
        return None
    times = [s.start for s in found]
    used = [p for s in found for p in s.parts]
    if q.options:
        counted = [(abs(o.count - len(times)), i) for i, o in enumerate(q.options) if o.count is not None]
        if not times and q.absent_option is not None:
            return _not_found(c, _quote(q.target))
        if counted:
            choice = min(counted)[1]
            return _answer(c, format_count(times).capitalize(), used, None, choice)
        return None
    if not times:
        return _answer(c, f"Never: {_quote(q.target)} is not found in this video.", (), None)
    listed = "; ".join(f"{format_span(s.start, s.end)}: {s.text}" for s in found[:5])
    return _answer(c, f"{format_count(times).capitalize()}. {listed}", used, (found[0].start, found[0].end))


def _duration(c: Context) -> Action | None:
    q = c.question
    found = _found(c, _target_lookup(c), q.target, q.quoted)
    if found is None:
        return None
    showing = pick(found, q.nth)
    if showing is None:
        return _not_found(c, _quote(q.target)) if q.options or not found else None
    showing = _whole(c, showing, q.target, q.quoted)
    seconds = showing.end - showing.start
    said = f"{format_duration(showing.start, showing.end)}: {showing.text}"
    if q.options:
        timed = [(abs(o.seconds - seconds) / max(o.seconds, 1.0), i) for i, o in enumerate(q.options) if o.seconds is not None]
        return _answer(c, said, showing.parts, (showing.start, showing.end), min(timed)[1]) if timed else None
    return _answer(c, said[0].upper() + said[1:], showing.parts, (showing.start, showing.end))


def _when(c: Context) -> Action | None:
    q = c.question
    found = _found(c, _target_lookup(c), q.target, q.quoted)
    if not found:
        return None
    if q.nth is not None:
        showing = pick(found, q.nth)
    else:
        hits = [p for s in found for p in s.parts]
        top = best(q.target, q.quoted, hits)
        showing = next(s for s in found if top in s.parts)
    if showing is None:
        return None
    showing = _whole(c, showing, q.target, q.quoted)
    span = (showing.start, showing.end)
    text = f"At {format_span(*span)}: {showing.text}"
    if q.options:
        overlaps = [(_iou(span, w), -i) for i, o in enumerate(q.options) if (w := o.window and o.window.resolve(c.duration))]
        if overlaps and max(overlaps)[0] > 0:
            return _answer(c, text, showing.parts, span, -max(overlaps)[1])
        return None
    return _answer(c, text, showing.parts, span)


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else float(a == b)


# -- order: which first, which last ---------------------------------------------------------------------------


def _candidates(c: Context) -> list[tuple[int | None, str, bool, str]]:
    """(option index or None, query, quoted, modality) of each thing an order question compares (absent options left out)."""
    q = c.question
    if q.options:
        read = [(i, parse_question(o.text), o) for i, o in enumerate(q.options) if not o.absent]
        return [(i, o.query, o.query != o.text, p.modality) for i, p, o in read if o.query.strip()]
    return [(None, text, True, parse_question(text).modality) for text in q.candidates]


def _order_plan(c: Context) -> list[Action]:
    candidates = _candidates(c)
    if len(candidates) >= 2:
        return [lookup(query, modality, c.window) for _, query, _, modality in candidates]
    if c.question.target or c.duration is None:
        return _plan_found(c)
    return [_stretch(c)]


def _stretch(c: Context) -> Action:
    """The part of the video an "which is first (last)" question over everything reads."""
    start, end = c.window or (0.0, c.duration or 0.0)
    end = min(end, c.duration or end)
    return Action("timeline", {"start": start, "end": end, "modalities": modalities(c.question.modality), "limit": 200})


def _order(c: Context) -> Action | None:
    q = c.question
    last = q.nth is not None and q.nth < 0
    candidates = _candidates(c)
    if len(candidates) < 2:
        return _extreme(c, last)
    moments: list[tuple[float, int | None, str, Showing | None]] = []
    for option, query, quoted, modality in candidates:
        found = _found(c, lookup(query, modality, c.window), query, quoted)
        if found is None:
            return None
        showing = found[-1] if last and found else (found[0] if found else None)
        moments.append((showing.start if showing else float("nan"), option, query, showing))
    missing = [m for m in moments if m[3] is None]
    if missing:
        names = " and ".join(_quote(m[2]) for m in missing)
        if q.absent_option is not None:
            return _answer(c, f"{names} is not found in this video", (), None, q.absent_option)
        return _answer(c, f"Cannot tell which comes {'last' if last else 'first'}: {names} is not found in this video.", (), None)
    ordered = sorted(moments, key=lambda m: m[0], reverse=last)
    _, option, query, showing = ordered[0]
    assert showing is not None
    rest = "; ".join(f"{_quote(m[2])} at {format_span(m[3].start, m[3].end)}" for m in ordered[1:] if m[3])
    text = f"{_quote(query)} comes {'last' if last else 'first'}, at {format_span(showing.start, showing.end)} ({rest})"
    return _answer(c, text, showing.parts, (showing.start, showing.end), option)


def _extreme(c: Context, last: bool) -> Action | None:
    """The first (last) thing of the asked modality, or of the asked target, in the video or the question's window."""
    q = c.question
    if q.target:
        found = _found(c, _target_lookup(c), q.target, q.quoted)
        showing = pick(found, q.nth or 1) if found else None
    else:
        if c.duration is None:
            return None
        items = results(c.state, _stretch(c))
        if items is None:
            return None
        ordered = showings(sorted(items, key=lambda e: (e.end, e.start) if last else (e.start, e.end)))
        showing = (max(ordered, key=lambda s: s.end) if last else ordered[0]) if ordered else None
    if showing is None:
        return None
    showing = _whole(c, showing, q.target, q.quoted)
    span = (showing.start, showing.end)
    if q.options:
        choice = _best_option(c, [showing.text])
        return _answer(c, f"at {format_span(*span)}", showing.parts, span, choice) if choice is not None else None
    return _answer(c, f"{showing.text} (at {format_span(*span)}, the {'last' if last else 'first'})", showing.parts, span)


# -- relations: right after, right before, after, before, during ----------------------------------------------


def _reference_lookup(c: Context) -> Action | None:
    ref = c.question.reference
    return lookup(ref.target, ref.modality) if ref and ref.target else None


def _reference(c: Context) -> Showing | None:
    ref = c.question.reference
    if ref is None:
        return None
    found = _found(c, _reference_lookup(c), ref.target, ref.quoted)
    if not found:
        return None
    if ref.nth is not None:
        showing = pick(found, ref.nth)
    else:
        hits = [p for s in found for p in s.parts]
        top = best(ref.target, ref.quoted, hits)
        showing = next(s for s in found if top in s.parts)
    return _whole(c, showing, ref.target, ref.quoted) if showing else None


def _asked_modalities(c: Context) -> list[str]:
    q = c.question
    if q.modality != "any" or q.reference is None:
        return modalities(q.modality)
    return [m for m in modalities("any") if m not in modalities(q.reference.modality)]


def _around_reference(c: Context, event: Showing) -> Action:
    relation = c.question.reference.relation if c.question.reference else "during"
    start, end = event.start, event.end
    if relation in ("right_after", "after"):
        start, end = max(0.0, event.end - SLACK), event.end + REACH
    elif relation in ("right_before", "before"):
        start, end = max(0.0, event.start - REACH), event.start + SLACK
    return Action("timeline", {"start": start, "end": end, "modalities": _asked_modalities(c), "limit": 200})


def _relation_plan(c: Context) -> list[Action]:
    action = _reference_lookup(c)
    if action is None:
        return []
    ref = c.question.reference
    assert ref is not None
    plan = [action, *_speech_plan(c, action, ref.target, ref.quoted, ref.modality)]
    if all(results(c.state, a) is not None for a in plan):
        event = _reference(c)
        if event is not None:
            plan.append(_around_reference(c, event))
    return plan


def _relation(c: Context) -> Action | None:
    q = c.question
    ref = q.reference
    event = _reference(c)
    if ref is None or event is None:
        return None
    near = results(c.state, _around_reference(c, event))
    if near is None:
        return None
    own = {id(p) for p in event.parts}
    items = [e for e in near if id(e) not in own and not (e.start == event.start and e.end == event.end and e.text == event.text)]
    if q.target:
        wanted = [e for e in items if says(q.target, q.quoted, e.text) > 0]
        items = wanted or items
    if ref.relation in ("right_after", "after"):
        later = [e for e in items if e.start >= event.end - SLACK]
        chosen = min(later, key=lambda e: (e.start, -e.end), default=None)
    elif ref.relation in ("right_before", "before"):
        earlier = [e for e in items if e.end <= event.start + SLACK]
        chosen = max(earlier, key=lambda e: (e.end, e.start), default=None)
    else:
        overlapping = [(min(e.end, event.end) - max(e.start, event.start), e) for e in items]
        chosen = max(overlapping, key=lambda pair: pair[0], default=(0.0, None))[1]
    how = {"right_after": "right after", "right_before": "right before", "during": "while"}.get(ref.relation, ref.relation)
    if chosen is None:
        if q.options:
            return _answer(c, "", event.parts, None, q.absent_option) if q.absent_option is not None else None
        said = f"{_quote(event.text)} at {format_span(event.start, event.end)}"
        return _answer(c, f"Nothing {how} {said}: not found in this video.", event.parts, None)
    span = (chosen.start, chosen.end)
    text = f"{chosen.text} (at {format_span(*span)}, {how} {_quote(event.text)} at {format_span(event.start, event.end)})"
    if q.options:
        choice = _best_option(c, [chosen.text])
        return _answer(c, f"at {format_span(*span)}", [chosen], span, choice) if choice is not None else None
    return _answer(c, text, [chosen, *event.parts], span)


# -- at a time --------------------------------------------------------------------------------------------


def _at_time_plan(c: Context) -> list[Action]:
    """What is perceived around the asked time in the asked modality; in any, when that holds nothing."""
    window = c.window
    if window is None:
        return []
    start, end = max(0.0, window[0] - RUN_GAP), window[1] + RUN_GAP  # readings either side of a lost frame
    if c.duration is not None:
        end = min(end, c.duration)
    args = {"start": start, "end": max(start, end), "limit": 200}
    asked = Action("timeline", {**args, "modalities": modalities(c.question.modality)})
    if c.question.modality == "any" or results(c.state, asked) != ():
        return [asked]
    return [asked, Action("timeline", {**args, "modalities": modalities("any")})]


def _at_time(c: Context) -> Action | None:
    plan = _at_time_plan(c)
    window = c.window
    items = results(c.state, plan[-1]) if plan else None
    if not items or window is None:
        return None
    q = c.question
    about = [e for e in items if q.target and says(q.target, q.quoted, e.text) > 0]
    shown = _joined(about or list(items))
    inside = [s for s in shown if s.start <= window[1] + NEAR and s.end >= window[0] - NEAR]
    if not inside:
        return None
    if window[0] == window[1]:  # a moment: what covers it (or nearly), the most brief (a notice, not a backdrop)
        inside = sorted(inside, key=lambda s: (not s.start <= window[0] <= s.end, s.end - s.start))[:1]
    used = [p for s in inside for p in s.parts]
    if q.options:
        choice = _best_option(c, [s.text for s in inside])
        return _answer(c, "", used, (inside[0].start, inside[0].end), choice) if choice is not None else None
    listed = "; ".join(f"{s.text} ({format_span(s.start, s.end)})" for s in inside[:5])
    return _answer(c, listed, used, (inside[0].start, inside[0].end))


def _joined(items: Sequence[Evidence]) -> list[Showing]:
    """Showings of each text (see `showings`), over occurrences of many texts."""
    by_text: list[list[Evidence]] = []
    for item in sorted(items, key=lambda e: e.start):
        group = next((g for g in by_text if same_text(g[0].text, item.text)), None)
        if group is None:
            by_text.append([item])
        else:
            group.append(item)
    return sorted((s for group in by_text for s in showings(group)), key=lambda s: s.start)


# -- whether at all ----------------------------------------------------------------------------------------


def _exists(c: Context) -> Action | None:
    q = c.question
    if q.reference is not None or not q.target:
        return None
    action = _target_lookup(c)
    hits = results(c.state, action) if action else None
    if hits is None:
        return None
    found = _found(c, action, q.target, True)  # whether it occurs: it must be said, not only be near
    if found:
        showing = _whole(c, found[0], q.target, q.quoted)
        if q.quoted and says(q.target, True, showing.text) < 0.8:
            found = []
    if not found and q.modality != "text":
        top = best(q.target, q.quoted, [h for h in hits if h.modality in SPEECH])
        if top is not None:
            whole = passage(q.target, q.quoted, top, results(c.state, around(top)) or ())
            found = [whole] if says(q.target, True, whole.text) >= 0.8 else []
    first = found[0] if found else None
    answer = (
        f"Yes: {first.text} (at {format_span(first.start, first.end)})"
        if first
        else f"No: {_quote(q.target)} is not found in this video."
    )
    used, span = (first.parts, (first.start, first.end)) if first else ((), None)
    if not q.options:
        return _answer(c, answer, used, span)
    wanted = "yes" if first else "no"
    choice = next((i for i, o in enumerate(q.options) if o.text.strip().lower().startswith(wanted)), None)
    if choice is None and first is None:
        choice = q.absent_option
    return _answer(c, answer, used, span, choice) if choice is not None else None


# -- what is said or shown about something -----------------------------------------------------------------


def _said(c: Context) -> Action | None:
    """What is said (shown) about the target: the occurrence that names it, quoted whole with its own times."""
    q = c.question
    action = _target_lookup(c)
    hits = results(c.state, action) if action else None
    top = best(q.target, q.quoted, hits or ())
    if top is None or says(q.target, q.quoted, top.text) <= 0:
        return None
    showing = Showing(top.start, top.end, top.text, (top,))
    if top.modality in SPEECH:
        showing = passage(q.target, q.quoted, top, results(c.state, around(top)) or (), whole=True)
    span = (showing.start, showing.end)
    return _answer(c, f"{showing.text} (at {format_span(*span)})", showing.parts, span)


KINDS: dict[str, TemporalKind] = {
    "said": TemporalKind(_plan_found, _said),
    "open": TemporalKind(_plan_found, _said),
    "shown": TemporalKind(_plan_found, _said),
    "count": TemporalKind(_plan_found, _count),
    "duration": TemporalKind(_plan_found, _duration),
    "when": TemporalKind(_plan_found, _when),
    "order": TemporalKind(_order_plan, _order),
    "exists": TemporalKind(_plan_found, _exists),
    "right_after": TemporalKind(_relation_plan, _relation),
    "right_before": TemporalKind(_relation_plan, _relation),
    "after": TemporalKind(_relation_plan, _relation),
    "before": TemporalKind(_relation_plan, _relation),
    "during": TemporalKind(_relation_plan, _relation),
    "at_time": TemporalKind(_at_time_plan, _at_time),
}
