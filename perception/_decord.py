"""decord as a frame source: batched access by frame index, used only while it agrees with
the packet index that PyAV built (same frame count), so indices and times mean the same."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


class DecordUnusable(Exception):
    """decord is absent, cannot open the file, disagrees with the index, or failed on a batch."""


class DecordFrames:
    """decord's VideoReader over our slots. `exact` says the file's decoded timestamps match its
    packets; where they do not (packed B-frames in AVI, broken MP4 timestamps), decord's
    keyframe seeks return wrong frames (seen on Megamind.avi), so it is not used."""

    def __init__(self, path: Path, frame_count: int, size: tuple[int, int] | None, exact: bool):
        if not exact:
            raise DecordUnusable("frame timestamps are scrambled, which decord's seeking does not survive")
        try:
            import decord
        except ImportError as error:
            raise DecordUnusable("decord is not installed") from error
        self._errors = (decord.DECORDError, RuntimeError, ValueError)
        width, height = size or (-1, -1)
        try:
            self._reader = decord.VideoReader(str(path), ctx=decord.cpu(0), width=width, height=height)
        except self._errors as error:
            raise DecordUnusable(f"decord cannot open the file: {error}") from error
        if len(self._reader) != frame_count:
            raise DecordUnusable(f"decord counts {len(self._reader)} frames where the packet index has {frame_count}")

    def read(self, slots: Sequence[int]) -> list[tuple[int, np.ndarray]]:
        """RGB frames for sorted, distinct `slots`."""
        try:
            batch = self._reader.get_batch(list(slots)).asnumpy()
        except self._errors as error:
            raise DecordUnusable(f"decord failed on a batch: {error}") from error
        return list(zip(slots, batch))

    def close(self) -> None:
        self._reader = None
