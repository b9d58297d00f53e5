"""What the agent returns: an answer, the evidence it rests on, and every step it took."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the frames module pulls in OpenCV and PyAV, which a command that prints an answer does not need
    from memory.frames import FrameRef

ABSTAIN_TEXT = "Not found in this video."
LETTERS = "ABCDEFGHIJ"  # the choices of a multiple-choice question, in the order of its options


@dataclass(frozen=True)
class Evidence:
    """One thing the agent saw: a segment, a fact, a frame, a sketch or a timeline occurrence, with its moment."""

    kind: str  # "segment" | "fact" | "frame" | "sketch" | "occurrence"
    start: float
    end: float
    text: str
    score: float
    frames: tuple[FrameRef, ...] = ()
    key: str = ""  # identity, so the same thing is never shown twice
    scale: float | None = None
    image_path: str | None = None  # a rendered sketch
    modality: str | None = None  # an occurrence's: "speech", "text", ... (memory.timeline.MODALITIES)
    data: Mapping[str, Any] = field(default_factory=dict, compare=False)  # an occurrence's own (a motion run's figures)


@dataclass(frozen=True)
class Step:
    """One round of the loop, as the trace records it."""

    index: int
    action: str
    args: dict[str, Any]
    summary: str
    seconds: float
    error: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Answer:
    text: str
    choice: str | None
    span: tuple[float, float] | None
    evidence: tuple[Evidence, ...]
    trace: tuple[Step, ...]
    seconds: float
    abstained: bool = False
    policy: str = ""
    usage: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
