"""The agent's sketchpad for one question: a canvas per frame, each drawing saved and shown back.

Drawings accumulate: a tool works on the latest sketch of its frame (after a crop, on the
enlarged region, in its coordinates) unless the action asks to `restart` from the clean
frame. Every sketch is rendered, saved as `<home>/sketches/<question>/<n>.png` (written
atomically, so the web app never shows half a file), returned to the policy as an image
for its next round, and kept as evidence of kind "sketch" with its tool's structured
result in `data` (boxes, lines read, detections), which the offline policy reads.

Frames come from the video's frame store (by index, or the one nearest a time), never
past the question's `until`; an image question has a single frame, "image".
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.answer import Evidence
from app.toolbox import Observation, Sketch
from memory.frames import FrameRef, FrameStore
from perception.errors import DiskFullError, StorageError, ToolArgumentError
from perception.timefmt import format_time
from sketchpad import Canvas, ToolContext, run_tool

IMAGE = "image"


@dataclass(frozen=True)
class SketchEvidence(Evidence):
    """A sketch as evidence, with what its tool found (in the sketch's own pixel coordinates)."""

    data: Mapping[str, Any] = field(default_factory=dict, compare=False)


def new_question_id() -> str:
    """Sortable by time, unique across processes: 20250101-120000-3f9a1c."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class _Batch:
    frames: np.ndarray
    times: np.ndarray


class _StoreFrames:
    """The frame store as the sketchpad's FrameSource for `side_by_side`, blind past `until`."""

    def __init__(self, store: FrameStore, until: float | None):
        self.store = store
        self.count = usable_frames(store, until)
        self.duration = float(store.times[self.count - 1]) if self.count else 0.0

    def frames_at(self, times: Sequence[float]) -> _Batch:
        indices = [nearest_frame(self.store, t, self.count) for t in times]
        return _Batch(self.store.at(indices), self.store.times[indices])


def usable_frames(store: FrameStore, until: float | None) -> int:
    """How many stored frames lie at or before `until` (all of them without one)."""
    times = store.times
    return len(times) if until is None else int(np.searchsorted(times, until, side="right"))


def nearest_frame(store: FrameStore, seconds: float, count: int) -> int:
    """The index of the frame nearest `seconds` among the first `count`."""
    times = store.times[:count]
    right = int(np.searchsorted(times, seconds))
    candidates = [i for i in (right - 1, right) if 0 <= i < count]
    return min(candidates, key=lambda i: abs(float(times[i]) - seconds))


class Sketcher:
    """Runs `sketch` actions for one question (a video's frames, or one image) and saves each sketch."""

    def __init__(
        self,
        folder: Path,
        models: Any,
        *,
        store: FrameStore | None = None,
        video: str | None = None,
        image: np.ndarray | None = None,
    ):
        """`folder`: where this question's sketches go; `models`: what the model-backed tools use (Models)."""
        self.folder = Path(folder)
        self.models = models
        self.store = store
        self.video = video
        self.image = image
        self.count = 0
        self._canvases: dict[int | str, Canvas] = {}

    def __call__(self, args: Sketch, seen: Sequence[Evidence], until: float | None = None) -> Observation:
        key, ref = self._frame(args, until)
        canvas = self._canvases.get(key) if not args.restart else None
        if canvas is None:
            canvas = Canvas(self._clean_frame(ref))
        frames = _StoreFrames(self.store, until) if self.store is not None else None
        result = run_tool(args.tool, args.args, canvas, ToolContext(models=self.models, frames=frames))
        pixels = result.canvas.render()
        path = self._save(pixels, self.count + 1)
        self._canvases[key] = result.canvas  # only a sketch that was saved counts
        self.count += 1
        where = "the image" if ref is None else f"frame {ref.index} at {format_time(ref.time)}"
        when = ref.time if ref is not None else 0.0
        evidence = SketchEvidence(
            "sketch",
            when,
            when,
            f"{args.tool} on {where}: {result.summary}",
            _relevance(ref, seen),
            (ref,) if ref is not None else (),
            key=f"sketch:{self.folder.name}:{self.count}",
            image_path=str(path),
            data=result.data,
        )
        width, height = result.canvas.size
        caption = f"sketch {self.count}: {args.tool} on {where} ({width}x{height} px)"
        return Observation(f"sketch {self.count} ({args.tool} on {where}): {result.summary}", (evidence,), ((pixels, caption),))

    def _clean_frame(self, ref: FrameRef | None) -> np.ndarray:
        """The pixels a new canvas starts from: the question's image, or the video frame `ref` names."""
        if ref is None:
            assert self.image is not None, "_frame names the image only when there is one"
            return self.image
        assert self.store is not None, "_frame names a video frame only when there is a frame store"
        return self.store.get(ref.index)

    def _frame(self, args: Sketch, until: float | None) -> tuple[int | str, FrameRef | None]:
        """The canvas key and the frame an action names; ToolArgumentError when it names none there is."""
        if args.frame == IMAGE or self.store is None:
            if self.image is None:
                raise ToolArgumentError("sketch: this question is about a video: name a frame index or a time, not 'image'")
            if args.frame != IMAGE:
                raise ToolArgumentError("sketch: this question is about one image: use frame 'image'")
            return IMAGE, None
        count = usable_frames(self.store, until)
        if count == 0:
            raise ToolArgumentError("sketch: no frame of this video is available yet")
        if args.time is not None:
            index = nearest_frame(self.store, args.time, count)
        else:
            assert isinstance(args.frame, int), "Sketch holds a frame or a time, and 'image' returned above"
            index = args.frame
            if not 0 <= index < count:
                cutoff = f" up to {format_time(until)}" if until is not None and count < len(self.store) else ""
                raise ToolArgumentError(f"sketch: frame {index} does not exist; the frames{cutoff} are 0 to {count - 1}")
        assert self.video is not None, "a Sketcher with a frame store is given its video's id"
        return index, FrameRef(self.video, index, float(self.store.times[index]))

    def _save(self, pixels: np.ndarray, number: int) -> Path:
        """Write the PNG under a temporary name, then rename: readers see all of it or nothing."""
        path = self.folder / f"{number}.png"
        partial = self.folder / f".{number}.png.{os.getpid()}.partial"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(partial, format="PNG", compress_level=3)
            os.replace(partial, path)
        except OSError as err:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            kind = DiskFullError if err.errno == errno.ENOSPC else StorageError
            raise kind(f"cannot save the sketch to {path}: {err.strerror or err}") from err
        return path


def _relevance(ref: FrameRef | None, seen: Sequence[Evidence]) -> float:
    """A sketch is as relevant as the best evidence showing its frame; an image question's image is the subject."""
    if ref is None:
        return 1.0
    return max((e.score for e in seen if any(f.index == ref.index for f in e.frames)), default=0.0)
