"""Longshot's faces: the agent and the Python API (`from app import Longshot`)."""

from app.answer import LETTERS, Answer, Evidence, Step
from app.api import Longshot
from app.images import numbered_side_by_side
from memory import audit
from memory.frames import FrameCache, FrameRef, FrameStore

__all__ = [
    "LETTERS",
    "Answer",
    "Evidence",
    "FrameCache",
    "FrameRef",
    "FrameStore",
    "Longshot",
    "Step",
    "audit",
    "numbered_side_by_side",
]
