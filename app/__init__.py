"""Longshot's faces: the agent and the Python API (`from app import Longshot`)."""

from app.answer import Answer, Evidence, Step
from app.api import Longshot
from memory.frames import FrameCache, FrameRef, FrameStore

__all__ = ["Answer", "Evidence", "FrameCache", "FrameRef", "FrameStore", "Longshot", "Step"]
