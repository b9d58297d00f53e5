"""The agent's actions, their schemas as data, and their read-only execution over the memories.

Arguments come from a model and are untrusted: each action's schema is checked with
pydantic before anything runs, and a failure becomes an error observation, not a crash.
Nothing here writes to the library.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.answer import Evidence
from memory.episodic import EpisodicMemory
from memory.frames import FrameRef, FrameStore
from memory.semantic import SemanticMemory
from memory.timeline import MODALITIES, Occurrence, Timeline
from memory.visual import VisualMemory
from memory.working import Budget, WorkingMemory
from perception.errors import ModelUnavailableError, ToolArgumentError
from perception.timefmt import format_span, format_time
from sketchpad import TOOLS, tool_schemas

FILTERED_POOL = 500  # hits ranked before a time filter, so that k of them usually survive it
MAX_OCCURRENCES = 100  # occurrences returned by one `occurrences` action


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _seconds(value: float, label: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{label} must be a finite number of seconds, not negative")
    return value


class _TimeFiltered(_Args):
    """Every search may be limited in time: `after` keeps what starts then or later, `before` what ends by then."""

    after: float | None = None  # the prompt's rules say what after and before keep, once for every search
    before: float | None = None

    @field_validator("after", "before")
    @classmethod
    def _finite(cls, value: float | None, info) -> float | None:
        return None if value is None else _seconds(value, info.field_name)

    @model_validator(mode="after")
    def _ordered(self) -> _TimeFiltered:
        if self.after is not None and self.before is not None and self.after > self.before:
            raise ValueError("after must not be later than before")
        return self

    def keeps(self, start: float, end: float) -> bool:
        return (self.after is None or start >= self.after) and (self.before is None or end <= self.before)


class SearchEpisodic(_TimeFiltered):
    query: str = Field(min_length=1, max_length=500)
    scale: float | None = Field(default=None, description="segment seconds; omit for every scale")
    k: int = Field(default=5, ge=1, le=20)


class SearchSemantic(_TimeFiltered):
    query: str = Field(min_length=1, max_length=500)
    k: int = Field(default=5, ge=1, le=20)


class SearchVisual(_TimeFiltered):
    query: str = Field(min_length=1, max_length=500)
    k: int = Field(default=6, ge=1, le=20)


Modality = Literal[MODALITIES]  # type: ignore[valid-type]


class TimelineArgs(_Args):
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    modalities: list[Modality] | None = Field(default=None, max_length=len(MODALITIES), description="omit for all")
    limit: int = Field(default=40, ge=1, le=200, description="the earliest this many")

    @field_validator("start", "end")
    @classmethod
    def _finite(cls, value: float, info) -> float:
        return _seconds(value, info.field_name)

    @model_validator(mode="after")
    def _ordered(self) -> TimelineArgs:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class Occurrences(_TimeFiltered):
    query: str = Field(min_length=1, max_length=500)
    modalities: list[Modality] | None = Field(default=None, max_length=len(MODALITIES), description="omit for all")


class Inspect(_Args):
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    n: int = Field(default=6, ge=1, le=16)
    query: str | None = Field(default=None, max_length=500, description="what to look for; defaults to the question")

    @field_validator("start", "end")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        return value


def _sketchpad_tools(schema: dict[str, Any]) -> None:
    """The sketchpad's registry names the tools and their arguments, so a prompt offers exactly what runs."""
    schema["properties"]["tool"]["enum"] = list(TOOLS)
    schema["tools"] = tool_schemas()


class Sketch(_Args):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_sketchpad_tools)

    frame: int | Literal["image"] | None = Field(default=None, description="N of a frame captioned 'frame N', or 'image'")
    time: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="seconds, instead of frame",
    )
    tool: str = Field(min_length=1, max_length=40)
    args: dict[str, Any] = Field(default_factory=dict, description="the tool's own arguments, below")
    restart: bool = Field(
        default=False,
        description="start again from the clean frame (after a crop, its coordinates hold until then)",
    )

    @field_validator("frame", mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a frame index or 'image'")
        return value

    @model_validator(mode="after")
    def _one_frame(self) -> Sketch:
        if (self.frame is None) == (self.time is None):
            raise ValueError("give frame or time, exactly one of them")
        return self


class AnswerArgs(_Args):
    text: str = Field(max_length=2000)
    choice: str | None = Field(default=None, max_length=1)
    evidence: list[int] = Field(default_factory=list, max_length=20, description="indices of the evidence you rely on")
    span: tuple[float, float] | None = Field(default=None, description="start and end seconds, for 'when' questions")


@dataclass(frozen=True)
class Action:
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # what the trace should say about how this action was chosen (a handover, a check)

    def with_note(self, note: str) -> Action:
        """This action with `note` added to its note (notes accumulate: a handover, then a check)."""
        return Action(self.name, self.args, "; ".join(n for n in (self.note, note) if n))


@dataclass(frozen=True)
class Observation:
    summary: str
    evidence: tuple[Evidence, ...] = ()
    images: tuple[tuple[np.ndarray, str], ...] = ()  # (image, caption) for the next round


@dataclass(frozen=True)
class Turn:
    """What a handler reads besides its arguments: the question, the time limit, the evidence so far."""

    question: str
    until: float | None = None
    seen: Sequence[Evidence] = ()


@dataclass(frozen=True)
class VideoMemories:
    """What the video actions read, for one video. `text_to_image` is None without an image-text model."""

    video: str
    episodic: EpisodicMemory
    semantic: SemanticMemory
    visual: VisualMemory
    working: WorkingMemory
    store: FrameStore
    timeline: Timeline
    text_to_image: Callable[[str], np.ndarray] | None = None


SketchRunner = Callable[[Sketch, Sequence[Evidence], float | None], Observation]


class Toolbox:
    """Runs validated actions through the ACTIONS registry, for one video or for one image.

    `memories` is None for an image question (only the actions that need no video apply);
    `sketcher` is None where nothing may be drawn.
    """

    def __init__(self, memories: VideoMemories | None, sketcher: SketchRunner | None = None):
        self.memories = memories
        self.sketcher = sketcher

    @classmethod
    def for_image(cls, sketcher: SketchRunner) -> Toolbox:
        """A toolbox for a question about one image: it sketches, and has no memories to search."""
        return cls(None, sketcher)

    def scales(self) -> list[float]:
        return self.memories.episodic.scales(self.memories.video) if self.memories else []

    def run(self, name: str, args: _Args, turn: Turn) -> Observation:
        """Run the action `name` with arguments `validate` made for it."""
        spec = ACTIONS.get(name)
        if spec is None or spec.handler is None:
            raise ToolArgumentError(f"{name} is not a tool")
        return spec.handler(self, args, turn)

    def search_episodic(self, args: SearchEpisodic, turn: Turn) -> Observation:
        memories = self._video()
        hits = memories.episodic.search(memories.video, args.query, scale=args.scale, k=_pool(args), until=turn.until)
        hits = [h for h in hits if args.keeps(h.segment.start, h.segment.end)][: args.k]
        evidence = tuple(
            Evidence(
                "segment",
                h.segment.start,
                h.segment.end,
                _segment_text(h.segment),
                h.score,
                tuple(FrameRef(memories.video, k, _frame_time(memories.store, k)) for k in h.segment.keyframes),
                key=f"segment:{h.segment.id}",
                scale=h.segment.scale,
            )
            for h in hits
        )
        where = f"at scale {format_time(args.scale)}" if args.scale else "across scales"
        return Observation(f"{len(evidence)} segments {where}{_filtered(args)}", evidence)

    def search_semantic(self, args: SearchSemantic, turn: Turn) -> Observation:
        memories = self._video()
        found = memories.semantic.search(memories.video, args.query, k=_pool(args), until=turn.until)
        evidence = tuple(
            Evidence("fact", f.start, f.end, f"{f.subject} {f.relation}: {f.object}", score, key=f"fact:{f.id}")
            for f, score in found
            if args.keeps(f.start, f.end)
        )[: args.k]
        return Observation(f"{len(evidence)} facts{_filtered(args)}", evidence)

    def search_visual(self, args: SearchVisual, turn: Turn) -> Observation:
        memories = self._video()
        if memories.text_to_image is None:
            # No image-text model: text-to-frame search goes through the segments' text.
            finest = min(self.scales(), default=None)
            hits = memories.episodic.search(memories.video, args.query, scale=finest, k=_pool(args), until=turn.until)
            hits = [h for h in hits if args.keeps(h.segment.start, h.segment.end)][: args.k]
            evidence = tuple(
                Evidence(
                    "frame",
                    h.segment.start,
                    h.segment.end,
                    _segment_text(h.segment),
                    h.score,
                    tuple(FrameRef(memories.video, k, _frame_time(memories.store, k)) for k in h.segment.keyframes[:1]),
                    key=f"frame:{h.segment.keyframes[0]}" if h.segment.keyframes else f"segment:{h.segment.id}",
                )
                for h in hits
            )
            return Observation(f"{len(evidence)} frames{_filtered(args)} (through captions: no image-text model)", evidence)
        found = memories.visual.search(memories.video, memories.text_to_image(args.query), k=_pool(args), until=turn.until)
        found = [h for h in found if args.keeps(h.time, h.time)][: args.k]
        evidence = tuple(
            Evidence(
                "frame",
                h.time,
                h.time,
                f"frame at {format_time(h.time)}",
                h.score,
                (FrameRef(h.video, h.index, h.time),),
                key=f"frame:{h.index}",
            )
            for h in found
        )
        return Observation(f"{len(evidence)} frames{_filtered(args)}", evidence)

    def timeline(self, args: TimelineArgs, turn: Turn) -> Observation:
        memories = self._video()
        found = memories.timeline.between(memories.video, args.start, args.end, args.modalities, until=turn.until)
        shown = found[: args.limit]
        evidence = tuple(_occurrence(memories, o, 1.0) for o in shown)
        more = f" (the first {len(shown)})" if len(found) > len(shown) else ""
        return Observation(
            f"{len(found)} occurrences between {format_time(args.start)} and {format_time(args.end)}{more}", evidence
        )

    def occurrences(self, args: Occurrences, turn: Turn) -> Observation:
        memories = self._video()
        hits = memories.timeline.matching(memories.video, args.query, args.modalities, args.after, args.before, turn.until)
        evidence = tuple(_occurrence(memories, h.occurrence, h.score) for h in hits[:MAX_OCCURRENCES])
        summary = f"{len(hits)} occurrences{_filtered(args)}"
        if hits:
            first, last = hits[0].occurrence, hits[-1].occurrence
            summary += f", the first at {format_span(first.start, first.end)}, the last at {format_span(last.start, last.end)}"
        return Observation(summary + (f" (the first {MAX_OCCURRENCES} listed)" if len(hits) > MAX_OCCURRENCES else ""), evidence)

    def inspect(self, args: Inspect, turn: Turn) -> Observation:
        memories = self._video()
        if args.end < args.start:
            raise ToolArgumentError("inspect: end must not be before start")
        picks = memories.working.select_frames(
            memories.video, args.query or turn.question, [(args.start, args.end)], Budget(k=args.n), until=turn.until
        )
        evidence, images = [], []
        for pick in picks:
            if pick.frame is None:  # only segment picks lack a frame; select_frames makes none
                continue
            text = _segment_text(pick.segment) if pick.segment else ""
            evidence.append(
                Evidence(
                    "frame",
                    pick.start,
                    pick.end,
                    text or f"frame at {format_time(pick.time)}",
                    pick.score,
                    (pick.frame,),
                    key=f"frame:{pick.frame.index}",
                )
            )
            images.append((memories.store.get(pick.frame.index), f"frame {pick.frame.index} at {format_time(pick.time)}"))
        return Observation(
            f"{len(picks)} frames between {format_time(args.start)} and {format_time(args.end)}", tuple(evidence), tuple(images)
        )

    def sketch(self, args: Sketch, turn: Turn) -> Observation:
        if self.sketcher is None:
            raise ModelUnavailableError("sketch", "no sketchpad is wired into this agent")
        return self.sketcher(args, turn.seen, turn.until)

    def _video(self) -> VideoMemories:
        if self.memories is None:
            *others, last = [name for name, spec in ACTIONS.items() if not spec.needs_video]
            raise ToolArgumentError(f"there is no video in this question; only {', '.join(others)} and {last} apply")
        return self.memories


@dataclass(frozen=True)
class ActionSpec:
    """One action: its arguments, what the prompt says it does, and the Toolbox method that runs it.

    `handler` is None for `answer`, which ends the loop instead of running; `needs_video` is
    False for the actions an image question offers.
    """

    arguments: type[_Args]
    description: str
    handler: Callable[[Toolbox, Any, Turn], Observation] | None
    needs_video: bool = True


# The one list of actions: prompts, validation and dispatch all read it, in this order.
ACTIONS: dict[str, ActionSpec] = {
    "search_episodic": ActionSpec(
        SearchEpisodic,
        "Search what happened (captions, on-screen text, speech) at one time scale or all.",
        Toolbox.search_episodic,
    ),
    "search_semantic": ActionSpec(
        SearchSemantic, "Search entities and facts consolidated over the whole video.", Toolbox.search_semantic
    ),
    "search_visual": ActionSpec(SearchVisual, "Find frames that look like the query.", Toolbox.search_visual),
    "timeline": ActionSpec(
        TimelineArgs,
        "Everything perceived between start and end (speech, on-screen text, scenes, objects...) in time order, "
        "each at its own times.",
        Toolbox.timeline,
    ),
    "occurrences": ActionSpec(
        Occurrences,
        "Every occurrence matching the query, in time order with its own start and end: to count, measure how long, "
        "find the first or last.",
        Toolbox.occurrences,
    ),
    "inspect": ActionSpec(Inspect, "Look at n frames chosen by working memory between start and end seconds.", Toolbox.inspect),
    "sketch": ActionSpec(
        Sketch, "Draw on a frame or the image with a sketchpad tool, then look at the drawing.", Toolbox.sketch, needs_video=False
    ),
    "answer": ActionSpec(AnswerArgs, "Give the final answer.", None, needs_video=False),
}


def action_schemas(video: bool = True) -> list[dict[str, Any]]:
    """JSON schema of every action a question offers (`video=False`: an image question's), for prompts."""
    return [
        {"name": name, "description": spec.description, "parameters": spec.arguments.model_json_schema()}
        for name, spec in ACTIONS.items()
        if video or not spec.needs_video
    ]


def validate(action: Action) -> _Args:
    """The action's arguments as its model; ToolArgumentError names what is wrong."""
    spec = ACTIONS.get(action.name)
    if spec is None:
        raise ToolArgumentError(f"unknown action '{action.name}'; use one of: {', '.join(ACTIONS)}")
    try:
        return spec.arguments.model_validate(action.args)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}" for e in err.errors()[:5])
        raise ToolArgumentError(f"invalid arguments for {action.name}: {problems}") from None


def _segment_text(segment) -> str:
    parts = [segment.caption]
    if segment.speech_text and segment.speech_text not in segment.caption:
        parts.append("Speech: " + segment.speech_text)
    if segment.ocr_text and segment.ocr_text not in segment.caption:
        parts.append("On screen: " + segment.ocr_text.replace("\n", "; "))
    return " ".join(parts)


def _pool(args: SearchEpisodic | SearchSemantic | SearchVisual) -> int:
    """How many hits to rank before the time filter keeps `args.k` of them (ranking scores everything anyway)."""
    return args.k if args.after is None and args.before is None else FILTERED_POOL


def _filtered(args: _TimeFiltered) -> str:
    """How a search was limited in time, for its summary."""
    parts = [f"after {format_time(args.after)}" if args.after is not None else ""]
    parts.append(f"before {format_time(args.before)}" if args.before is not None else "")
    return "".join(f" {p}" for p in parts if p)


def _occurrence(memories: VideoMemories, occurrence: Occurrence, score: float) -> Evidence:
    """An occurrence as evidence: its own times and text, and the stored frame nearest its middle."""
    times = memories.store.times
    frames: tuple[FrameRef, ...] = ()
    if len(times):
        index = int(np.clip(np.searchsorted(times, (occurrence.start + occurrence.end) / 2), 0, len(times) - 1))
        frames = (FrameRef(memories.video, index, float(times[index])),)
    return Evidence(
        "occurrence",
        occurrence.start,
        occurrence.end,
        occurrence.text,
        score,
        frames,
        key=f"occurrence:{occurrence.id}",
        modality=occurrence.modality,
        data=occurrence.data,
    )


def _frame_time(store: FrameStore, index: int) -> float:
    times = store.times
    return float(times[index]) if 0 <= index < len(times) else 0.0
