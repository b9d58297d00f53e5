"""Longshot's faces: the agent and the Python API (`from app import Longshot`).

The names below are imported on first use, not with the package: every `longshot` command
imports `app.cli`, and `longshot videos` should not pay for the agent, the memories and
their libraries to list a catalogue.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.answer import LETTERS, Answer, Evidence, Step
    from app.api import Longshot
    from app.images import numbered_side_by_side
    from memory import audit
    from memory.frames import FrameCache, FrameRef, FrameStore

_HOMES = {
    "LETTERS": "app.answer",
    "Answer": "app.answer",
    "Evidence": "app.answer",
    "Step": "app.answer",
    "Longshot": "app.api",
    "numbered_side_by_side": "app.images",
    "audit": "memory.audit",
    "FrameCache": "memory.frames",
    "FrameRef": "memory.frames",
    "FrameStore": "memory.frames",
}

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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'app' has no attribute {name!r}")
    home = importlib.import_module(_HOMES[name])
    return home if home.__name__.endswith(f".{name}") else getattr(home, name)
