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

from app.policies.notices import notices
from app.policies.temporal_context import (
    Context,
    TemporalKind,
    best_option,
    found_showings,
    lookup,
    not_found,
    quote,
    reply,
    speech_plan,
    target_lookup,
    the_one,
    widened,
)
from app.policies.temporal_relations import at_time, at_time_steps, relation, relation_plan, yes_no, yes_no_plan
from app.policies.timeline_reading import (
    SPEECH,
    Showing,
    around,
    best,
    modalities,
    passage,
    passages,
    pick,
    results,
    says,
    showings,
    showings_of_each,
)
from app.questions import format_count, format_duration, parse_question
from app.toolbox import Action
from perception.timefmt import format_span

# -- count, duration, when ---------------------------------------------------------------------------


def _plan_found(c: Context) -> list[Action]:
    q = c.question
    action = target_lookup(c)
    if action is None:
        return []
    return [action, *speech_plan(c, action, q.target, q.quoted, q.modality)]


def _count_plan(c: Context) -> list[Action]:
    """A count of something named finds it; a count of all speech (or all on-screen text) reads the whole timeline."""
    if c.question.target or c.question.modality == "any" or c.duration is None:
        return _plan_found(c)
    return [_stretch(c)]


def _count(c: Context) -> Action | None:
    q = c.question
    if q.target or q.modality == "any":
        found = found_showings(c, target_lookup(c), q.target, q.quoted)
    else:  # "how many times does the announcer speak?": passages of speech, or showings of each text
        items = results(c.state, _stretch(c)) if c.duration is not None else None
        found = None if items is None else (passages(items) if q.modality == "speech" else showings_of_each(items))
    if found is None:
        return None
    times = [s.start for s in found]
    used = [p for s in found for p in s.parts]
    if q.options:
        counted = [(abs(o.count - len(times)), i) for i, o in enumerate(q.options) if o.count is not None]
        if not times and q.absent_option is not None:
            return not_found(c, quote(q.target))
        if counted:
            choice = min(counted)[1]
            return reply(c, format_count(times).capitalize(), used, None, choice)
        return None
    if not times:
        return reply(c, f"Never: {quote(q.target)} is not found in this video.", (), None)
    listed = "; ".join(f"{format_span(s.start, s.end)}: {s.text}" for s in found[:5])
    return reply(c, f"{format_count(times).capitalize()}. {listed}", used, (found[0].start, found[0].end))


def _duration(c: Context) -> Action | None:
    q = c.question
    found = found_showings(c, target_lookup(c), q.target, q.quoted)
    if found is None:
        return None
    showing = pick(found, q.nth)
    if showing is None:
        return not_found(c, quote(q.target)) if q.options or not found else None
    showing = widened(c, showing, q.target, q.quoted)
    seconds = showing.end - showing.start
    said = f"{format_duration(showing.start, showing.end)}: {showing.text}"
    if q.options:
        timed = [(abs(o.seconds - seconds) / max(o.seconds, 1.0), i) for i, o in enumerate(q.options) if o.seconds is not None]
        return reply(c, said, showing.parts, (showing.start, showing.end), min(timed)[1]) if timed else None
    return reply(c, said[0].upper() + said[1:], showing.parts, (showing.start, showing.end))


def _when(c: Context) -> Action | None:
    q = c.question
    showing = the_one(c, target_lookup(c), q.target, q.quoted, q.nth)
    if showing is None:
        return None
    span = (showing.start, showing.end)
    text = f"At {format_span(*span)}: {showing.text}"
    if q.options:
        overlaps = [(_iou(span, w), -i) for i, o in enumerate(q.options) if (w := o.window and o.window.resolve(c.duration))]
        if overlaps and max(overlaps)[0] > 0:
            return reply(c, text, showing.parts, span, -max(overlaps)[1])
        return None
    return reply(c, text, showing.parts, span)


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
        found = found_showings(c, lookup(query, modality, c.window), query, quoted)
        if found is None:
            return None
        showing = found[-1] if last and found else (found[0] if found else None)
        moments.append((showing.start if showing else float("nan"), option, query, showing))
    missing = [m for m in moments if m[3] is None]
    if missing:
        names = " and ".join(quote(m[2]) for m in missing)
        if q.absent_option is not None:
            return reply(c, f"{names} is not found in this video", (), None, q.absent_option)
        return reply(c, f"Cannot tell which comes {'last' if last else 'first'}: {names} is not found in this video.", (), None)
    ordered = sorted(moments, key=lambda m: m[0], reverse=last)
    _, option, query, showing = ordered[0]
    assert showing is not None
    rest = "; ".join(f"{quote(m[2])} at {format_span(m[3].start, m[3].end)}" for m in ordered[1:] if m[3])
    text = f"{quote(query)} comes {'last' if last else 'first'}, at {format_span(showing.start, showing.end)} ({rest})"
    return reply(c, text, showing.parts, (showing.start, showing.end), option)


def _extreme(c: Context, last: bool) -> Action | None:
    """The first (last) thing of the asked modality, or of the asked target, in the video or the question's window:
    of on-screen texts, the first (last) notice, not the footage's own title card (`app.policies.notices`)."""
    q = c.question
    if q.target:
        found = found_showings(c, target_lookup(c), q.target, q.quoted)
        showing = pick(found, q.nth or 1) if found else None
    else:
        if c.duration is None:
            return None
        items = results(c.state, _stretch(c))
        if items is None:
            return None
        ordered = notices(showings(sorted(items, key=lambda e: (e.end, e.start) if last else (e.start, e.end))))
        showing = (max(ordered, key=lambda s: s.end) if last else ordered[0]) if ordered else None
    if showing is None:
        return None
    showing = widened(c, showing, q.target, q.quoted)
    span = (showing.start, showing.end)
    if q.options:
        choice = best_option(c, [showing.text])
        return reply(c, f"at {format_span(*span)}", showing.parts, span, choice) if choice is not None else None
    return reply(c, f"{showing.text} (at {format_span(*span)}, the {'last' if last else 'first'})", showing.parts, span)


# -- whether at all ----------------------------------------------------------------------------------------


def _whether_plan(c: Context) -> list[Action]:
    """Whether X happens at all, or in relation to Y ("is X shown after Y?")."""
    return yes_no_plan(c) if c.question.reference else _plan_found(c)


def _whether(c: Context) -> Action | None:
    if c.question.reference:
        return yes_no(c)
    return _exists(c) if c.question.kind == "exists" else None


def _exists(c: Context) -> Action | None:
    q = c.question
    if q.reference is not None or not q.target:
        return None
    action = target_lookup(c)
    hits = results(c.state, action) if action else None
    if hits is None:
        return None
    found = found_showings(c, action, q.target, True)  # whether it occurs: it must be said, not only be near
    if found:
        showing = widened(c, found[0], q.target, q.quoted)
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
        else f"No: {quote(q.target)} is not found in this video."
    )
    used, span = (first.parts, (first.start, first.end)) if first else ((), None)
    if not q.options:
        return reply(c, answer, used, span)
    wanted = "yes" if first else "no"
    choice = next((i for i, o in enumerate(q.options) if o.text.strip().lower().startswith(wanted)), None)
    if choice is None and first is None:
        choice = q.absent_option
    return reply(c, answer, used, span, choice) if choice is not None else None


# -- what is said or shown about something -----------------------------------------------------------------


def _said(c: Context) -> Action | None:
    """What is said (shown) about the target: the occurrence that names it, quoted whole with its own times."""
    q = c.question
    action = target_lookup(c)
    hits = results(c.state, action) if action else None
    top = best(q.target, q.quoted, hits or ())
    if top is None or says(q.target, q.quoted, top.text) <= 0:
        return None
    showing = Showing(top.start, top.end, top.text, (top,))
    if top.modality in SPEECH:
        showing = passage(q.target, q.quoted, top, results(c.state, around(top)) or (), whole=True)
    span = (showing.start, showing.end)
    return reply(c, f"{showing.text} (at {format_span(*span)})", showing.parts, span)


KINDS: dict[str, TemporalKind] = {
    "said": TemporalKind(_plan_found, _said),
    "open": TemporalKind(_plan_found, _said),
    "shown": TemporalKind(_plan_found, _said),
    "count": TemporalKind(_count_plan, _count),
    "duration": TemporalKind(_plan_found, _duration),
    "when": TemporalKind(_plan_found, _when),
    "order": TemporalKind(_order_plan, _order),
    "exists": TemporalKind(_whether_plan, _whether),
    "right_after": TemporalKind(relation_plan, relation),
    "right_before": TemporalKind(relation_plan, relation),
    "after": TemporalKind(relation_plan, relation),
    "before": TemporalKind(relation_plan, relation),
    "during": TemporalKind(relation_plan, relation),
    "at_time": TemporalKind(at_time_steps, at_time),
    "yes_no": TemporalKind(_whether_plan, _whether),
}
