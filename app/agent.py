"""The agent loop: explicit state, one action per round, every step recorded.

The loop, not the policy, enforces the rules: the step budget (then an answer is
forced), the limit on consecutive invalid actions, `until` (passed to every search), and
that evidence already seen is never returned twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from app.answer import ABSTAIN_TEXT, LETTERS, Answer, Evidence, Step
from app.toolbox import Action, AnswerArgs, Toolbox, Turn, validate
from perception.errors import LongshotError
from perception.timefmt import format_time


@dataclass
class AgentState:
    question: str
    options: tuple[str, ...]
    until: float | None
    max_steps: int
    scales: list[float]
    duration: float | None
    steps: list[Step] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    images: list[tuple[np.ndarray, str]] = field(default_factory=list)  # shown to the model next round
    hits: list[tuple[Evidence, ...]] = field(default_factory=list)  # each step's results, repeats included
    invalid: int = 0
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})

    @property
    def seen(self) -> set[str]:
        return {identity(e) for e in self.evidence}

    def actions(self, name: str) -> list[tuple[Step, tuple[Evidence, ...]]]:
        """Earlier steps of one action, with everything each returned (repeats included)."""
        return [(step, hits) for step, hits in zip(self.steps, self.hits) if step.action == name and step.error is None]


class Policy(Protocol):
    name: str

    def next_action(self, state: AgentState) -> Action:
        """The next action; raise ModelOutputError when the model's reply is not a valid action."""

    def force_answer(self, state: AgentState) -> Action:
        """An `answer` action from the evidence so far, when the budget is spent or the model keeps failing."""


class Agent:
    def __init__(self, toolbox: Toolbox, policy: Policy, max_steps: int = 8, max_invalid: int = 3):
        self.toolbox = toolbox
        self.policy = policy
        self.max_steps = max_steps
        self.max_invalid = max_invalid

    def run(
        self,
        question: str,
        options: Sequence[str] = (),
        until: float | None = None,
        duration: float | None = None,
        images: Sequence[tuple[np.ndarray, str]] = (),
    ) -> Iterator[Step | Answer]:
        """Yield each step as it happens, then the answer. `images` (with captions) are shown in the first round."""
        started = time.perf_counter()
        state = AgentState(question, tuple(options), until, self.max_steps, self.toolbox.scales(), duration)
        state.images = list(images)
        while True:
            forced = len(state.steps) >= self.max_steps or state.invalid >= self.max_invalid
            t0 = time.perf_counter()
            action = Action("invalid")  # what the trace shows when the policy produced no action at all
            try:
                action = self.policy.force_answer(state) if forced else self.policy.next_action(state)
                args = validate(action)
                if isinstance(args, AnswerArgs):
                    yield self._answer(state, args, forced, started, t0)
                    return
                observation = self.toolbox.run(action.name, args, Turn(question, until, state.evidence))
            except LongshotError as err:  # invalid replies and arguments included: an error step, never a crash
                if forced:  # even the forced answer failed: answer from the evidence alone
                    yield self._answer(state, AnswerArgs(text=ABSTAIN_TEXT), True, started, t0, error=str(err))
                    return
                step = self._record(state, action.name, action.args, f"error: {err}", t0, error=str(err))
                state.invalid += 1
                yield step
                continue
            allowed = tuple(e for e in observation.evidence if ended_by(e, until))
            fresh = unseen(allowed, state.seen)
            repeated, late = len(allowed) - len(fresh), len(observation.evidence) - len(allowed)
            summary = observation.summary + (f" ({repeated} already seen, not repeated)" if repeated else "")
            if late and until is not None:  # only a time limit drops items
                summary += f" ({late} after {format_time(until)}, dropped)"
            state.evidence.extend(fresh)
            state.images = list(observation.images)
            state.invalid = 0
            yield self._record(state, action.name, action.args, summary, t0, evidence=fresh, hits=observation.evidence)

    def _record(
        self,
        state: AgentState,
        name: str,
        args: dict[str, Any],
        summary: str,
        t0: float,
        error: str | None = None,
        evidence: tuple[Evidence, ...] = (),
        hits: tuple[Evidence, ...] = (),
    ) -> Step:
        step = Step(len(state.steps), name, dict(args), summary, time.perf_counter() - t0, error, evidence)
        state.steps.append(step)
        state.hits.append(hits)
        return step

    def _answer(
        self, state: AgentState, args: AnswerArgs, forced: bool, started: float, t0: float, error: str | None = None
    ) -> Answer:
        """The answer, its evidence and span (none for an abstention), and the step that records it (from `t0`)."""
        choice = (args.choice or "").strip().upper() or None
        if choice is not None and choice not in LETTERS[: len(state.options)]:
            choice = None
        abstained = args.text.strip() == ABSTAIN_TEXT and choice is None
        cited = [state.evidence[i] for i in args.evidence if 0 <= i < len(state.evidence)]
        evidence = tuple(cited or sorted(state.evidence, key=lambda e: -e.score)[:5])
        timed = [e for e in evidence if e.kind != "sketch" or e.frames]  # a sketch of a still image has no moment
        span = args.span or ((timed[0].start, timed[0].end) if timed else None)
        span = None if abstained else span
        evidence += tuple(e for e in state.evidence if e.kind == "sketch" and e not in evidence)  # kept for showing
        if span is not None and state.until is not None:
            span = (min(span[0], state.until), min(span[1], state.until))
        summary = ("forced: " if forced else "") + (f"({choice}) " if choice else "") + args.text[:120]
        if error:
            summary += f" [error: {error}]"
        self._record(state, "answer", args.model_dump(), summary, t0)
        return Answer(
            text=args.text,
            choice=choice,
            span=span,
            evidence=evidence,
            trace=tuple(state.steps),
            seconds=time.perf_counter() - started,
            abstained=abstained,
            policy=self.policy.name,
            usage=dict(state.usage),
        )


def identity(evidence: Evidence) -> str:
    """What makes two evidence items the same: the key their tool gave, else what they say and when."""
    return evidence.key or f"{evidence.kind}:{evidence.start:g}-{evidence.end:g}:{evidence.text}"


def unseen(evidence: Sequence[Evidence], seen: set[str]) -> tuple[Evidence, ...]:
    """The items not seen before, each once even when a tool returned it twice."""
    fresh, known = [], set(seen)
    for item in evidence:
        if identity(item) not in known:
            known.add(identity(item))
            fresh.append(item)
    return tuple(fresh)


def ended_by(evidence: Evidence, until: float | None) -> bool:
    """Whether an item, and every frame it points at, is over by `until` (the loop's own check, whatever a tool did)."""
    return until is None or (evidence.end <= until and all(f.time <= until for f in evidence.frames))


def describe(evidence: Evidence, index: int) -> str:
    """One line per evidence item, as policies and prompts show it."""
    when = (
        format_time(evidence.start)
        if evidence.start == evidence.end
        else f"{format_time(evidence.start)}-{format_time(evidence.end)}"
    )
    kind = f"{evidence.kind} ({evidence.modality})" if evidence.modality else evidence.kind
    return f"[{index}] {kind} {when} (score {evidence.score:.2f}): {evidence.text}"
