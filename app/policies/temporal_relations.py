"""Temporal answers that hang on another event or on a time: right after, right before, after, before,
while X; and what is on screen (or said) at a given moment or in a given stretch.

The referenced event is found first (its occurrences, the n-th or best-matching one, a spoken one
read as its whole passage), then the timeline around it is read for what was asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.answer import Evidence
from app.policies.notices import notice_items, showing_likeness
from app.policies.temporal_context import (
    NEAR,
    Context,
    best_option,
    found_showings,
    fullest,
    lookup,
    quote,
    readings_plan,
    reply,
    speech_plan,
    target_lookup,
    the_one,
)
from app.policies.timeline_reading import (
    RUN_GAP,
    Showing,
    modalities,
    results,
    says,
    showings_of_each,
)
from app.toolbox import Action
from perception.timefmt import format_span

# -- relations: right after, right before, after, before, during ----------------------------------------------

SLACK = 1.5  # seconds a reply's boundary may be off: speech and sampled frames place an edge only so closely
REACH = 90.0  # seconds looked at after (before) an event for what comes right after (before) it


def _reference_lookup(c: Context) -> Action | None:
    ref = c.question.reference
    return lookup(ref.target, ref.modality) if ref and ref.target else None


def _reference(c: Context) -> Showing | None:
    ref = c.question.reference
    return None if ref is None else the_one(c, _reference_lookup(c), ref.target, ref.quoted, ref.nth)


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


def relation_plan(c: Context) -> list[Action]:
    action = _reference_lookup(c)
    if action is None:
        return []
    ref = c.question.reference
    assert ref is not None
    plan = [action, *speech_plan(c, action, ref.target, ref.quoted, ref.modality)]
    if all(results(c.state, a) is not None for a in plan):
        event = _reference(c)
        if event is not None:
            plan.append(_around_reference(c, event))
            chosen = _chosen(c, event)
            if chosen is not None and not c.question.options:
                plan += readings_plan(chosen.text, chosen.modality)
    return plan


def _chosen(c: Context, event: Showing) -> Evidence | None:
    """What the question asks for around the referenced event, once the timeline there is read; None for nothing."""
    q, ref = c.question, c.question.reference
    near = results(c.state, _around_reference(c, event))
    if near is None or ref is None:
        return None
    own = {id(p) for p in event.parts}
    items = [e for e in near if id(e) not in own and not (e.start == event.start and e.end == event.end and e.text == event.text)]
    if q.target:
        wanted = [e for e in items if says(q.target, q.quoted, e.text) > 0]
        items = wanted or items
    items = notice_items(items)  # "what notice appears right after": not the footage's own title card
    if ref.relation in ("right_after", "after"):
        return min((e for e in items if e.start >= event.end - SLACK), key=lambda e: (e.start, -e.end), default=None)
    if ref.relation in ("right_before", "before"):
        return max((e for e in items if e.end <= event.start + SLACK), key=lambda e: (e.end, e.start), default=None)
    overlapping = [(min(e.end, event.end) - max(e.start, event.start), e) for e in items]
    return max(overlapping, key=lambda pair: pair[0], default=(0.0, None))[1]


def relation(c: Context) -> Action | None:
    q = c.question
    ref = q.reference
    event = _reference(c)
    if ref is None or event is None:
        return None
    if results(c.state, _around_reference(c, event)) is None:
        return None
    chosen = _chosen(c, event)
    how = {"right_after": "right after", "right_before": "right before", "during": "while"}.get(ref.relation, ref.relation)
    if chosen is None:
        if q.options:
            return reply(c, "", event.parts, None, q.absent_option) if q.absent_option is not None else None
        said = f"{quote(event.text)} at {format_span(event.start, event.end)}"
        return reply(c, f"Nothing {how} {said}: not found in this video.", event.parts, None)
    span = (chosen.start, chosen.end)
    if q.options:
        choice = best_option(c, [chosen.text])
        return reply(c, f"at {format_span(*span)}", [chosen], span, choice) if choice is not None else None
    what = fullest(c, chosen.text, chosen.modality)
    text = f"{what} (at {format_span(*span)}, {how} {quote(event.text)} at {format_span(event.start, event.end)})"
    return reply(c, text, [chosen, *event.parts], span)


# -- at a time --------------------------------------------------------------------------------------------


def at_time_plan(c: Context) -> list[Action]:
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


def at_time_steps(c: Context) -> list[Action]:
    """The timeline around the asked time, then every reading of what is on screen then (for its fullest)."""
    plan = at_time_plan(c)
    inside = _inside(c, plan)
    if inside and not c.question.options:
        plan += [a for s in inside[:5] for a in readings_plan(s.text, s.parts[0].modality)]
    return plan


def _inside(c: Context, plan: list[Action]) -> list[Showing]:
    """The showings at the asked time (the one most briefly shown that covers a moment), once read."""
    window = c.window
    items = results(c.state, plan[-1]) if plan else None
    if not items or window is None:
        return []
    q = c.question
    about = [e for e in items if q.target and says(q.target, q.quoted, e.text) > 0]
    shown = showings_of_each(about or list(items))
    inside = [s for s in shown if s.start <= window[1] + NEAR and s.end >= window[0] - NEAR]
    if window[0] == window[1]:  # a moment: everything that covers it, else the briefest that nearly does
        covering = [s for s in inside if s.start <= window[0] <= s.end]
        inside = covering or sorted(inside, key=lambda s: s.end - s.start)[:1]
    # most notice-like first (a notice, not the footage's own title card), then the briefest (a notice, not a backdrop)
    return sorted(inside, key=lambda s: (-showing_likeness(s), s.end - s.start))


def at_time(c: Context) -> Action | None:
    q = c.question
    inside = _inside(c, at_time_plan(c))
    if not inside:
        return None
    used = [p for s in inside for p in s.parts]
    if q.options:
        choice = best_option(c, [s.text for s in inside])
        return reply(c, "", used, (inside[0].start, inside[0].end), choice) if choice is not None else None
    listed = "; ".join(f"{fullest(c, s.text, s.parts[0].modality)} ({format_span(s.start, s.end)})" for s in inside[:5])
    return reply(c, listed, used, (inside[0].start, inside[0].end))


# -- whether one thing happens before, after or while another ------------------------------------------------


def yes_no_plan(c: Context) -> list[Action]:
    """Both events of "is X shown after Y?": X's occurrences and Y's."""
    q = c.question
    if q.reference is None or not q.target:
        return []
    plan = [target_lookup(c), _reference_lookup(c)]
    return [a for a in plan if a is not None]


def yes_no(c: Context) -> Action | None:
    q, ref, referred = c.question, c.question.reference, _reference_lookup(c)
    if ref is None or not q.target or referred is None:
        return None
    found = found_showings(c, target_lookup(c), q.target, q.quoted)
    if found is None or results(c.state, referred) is None:
        return None
    event = _reference(c)
    if event is None:
        text = f"No: {quote(ref.target)} is not found in this video."
        return _polar(c, False, text, (), None)
    if ref.relation in ("right_after", "after"):
        fits = [s for s in found if s.start >= event.end - SLACK and (ref.relation == "after" or s.start <= event.end + REACH)]
    elif ref.relation in ("right_before", "before"):
        fits = [s for s in found if s.end <= event.start + SLACK and (ref.relation == "before" or s.end >= event.start - REACH)]
    else:
        fits = [s for s in found if s.start <= event.end and s.end >= event.start]
    how = ref.relation.replace("_", " ")
    said = f"{quote(ref.target)} at {format_span(event.start, event.end)}"
    if not fits:
        where = f" (it is at {format_span(found[0].start, found[0].end)})" if found else " (it is not found in this video)"
        return _polar(c, False, f"No: {quote(q.target)} is not {how} {said}{where}.", event.parts, None)
    first = fits[0]
    text = f"Yes: {quote(first.text)} at {format_span(first.start, first.end)}, {how} {said}."
    return _polar(c, True, text, (*first.parts, *event.parts), (first.start, first.end))


def _polar(c: Context, yes: bool, text: str, used: Sequence[Evidence], span: tuple[float, float] | None) -> Action | None:
    """A yes/no answer, choosing the option that says it when there are options."""
    if not c.question.options:
        return reply(c, text, used, span)
    wanted = "yes" if yes else "no"
    choice = next((i for i, o in enumerate(c.question.options) if o.text.strip().lower().startswith(wanted)), None)
    return reply(c, text, used, span, choice) if choice is not None else None
