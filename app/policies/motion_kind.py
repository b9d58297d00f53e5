"""Motion questions in the offline policy: a temporal kind that reads the video's motion occurrences
with one timeline action, then answers from them (app.policies.motion)."""

from __future__ import annotations

from app.agent import AgentState
from app.policies.motion import MOTION_MODALITIES, answer_motion, read_motion
from app.policies.temporal_context import Context, TemporalKind, reply
from app.policies.timeline_reading import results
from app.toolbox import Action

MOTION_LIMIT = 200  # occurrences read: the timeline action's most


def motion_lookup(duration: float | None) -> Action:
    """Every activity, camera move and stillness of the video, in time order."""
    end = duration if duration is not None else 1e9
    return Action("timeline", {"start": 0.0, "end": end, "modalities": list(MOTION_MODALITIES), "limit": MOTION_LIMIT})


def motion_kind(state: AgentState) -> TemporalKind | None:
    """The answerer of a question about motion; None for any other question."""
    ask = read_motion(state.question, state.options, state.duration)
    if ask is None:
        return None

    def answer(c: Context) -> Action | None:
        found = results(c.state, motion_lookup(c.duration))
        if found is None:
            return None
        said = answer_motion(ask, found, c.duration)
        used = [e for e in found if any(e.start <= b and e.end >= a for a, b in said.used)]
        return reply(c, said.text, used, said.span, said.choice)

    return TemporalKind(lambda c: [motion_lookup(c.duration)], answer)
