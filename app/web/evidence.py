"""What an answer points at, ready to show: evidence frames with their times drawn on, the sketches
the agent drew, and a player that starts at a moment.

Frames come from the video's frame store; a file is played only from the library's uploads
folder (the one folder the app serves), and a still stands in where a browser cannot play it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from PIL import Image

from app.answer import Answer, Evidence
from app.web.chat import clip
from app.web.uploads import in_uploads
from memory.frames import FrameRef
from memory.store import VideoRecord
from perception.errors import LongshotError
from perception.timefmt import format_span, format_time
from sketchpad import Canvas

MAX_FRAMES = 8
FILE_ROUTE = "/gradio_api/file="
BROWSER_PLAYS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".ogv", ".mkv"})  # containers browsers commonly play


@dataclass(frozen=True)
class FrameView:
    """A frame to show: the picture (its time drawn on it), when it is, and a caption."""

    image: np.ndarray
    time: float
    caption: str


def _labelled(frame: np.ndarray, time: float) -> np.ndarray:
    """The frame with its time drawn in the top-left corner, so it is read even without the caption."""
    return Canvas(frame).label((6, 6), format_time(time), size=max(14, frame.shape[1] // 20)).render()


def _nearest_index(times: np.ndarray, time: float) -> int | None:
    if len(times) == 0:
        return None
    i = int(np.searchsorted(times, time))
    candidates = [j for j in (i - 1, i) if 0 <= j < len(times)]
    return min(candidates, key=lambda j: abs(times[j] - time))


def evidence_frames(longshot: Any, video: str, evidence: Sequence[Evidence], limit: int = MAX_FRAMES) -> list[FrameView]:
    """One frame per evidence item (the middle keyframe, or the frame nearest a fact), each once."""
    store = longshot.frames(video)
    times = store.times
    views, shown = [], set()
    for item in evidence:
        if item.kind == "sketch":
            continue
        if item.frames:
            ref = item.frames[len(item.frames) // 2]
            index, time = ref.index, ref.time
        else:
            nearest = _nearest_index(times, (item.start + item.end) / 2)
            if nearest is None:  # the video has no stored frames yet
                continue
            index, time = nearest, float(times[nearest])
        if index in shown or not 0 <= index < len(times):
            continue
        shown.add(index)
        caption = f"{format_time(time)} · {item.kind}"
        views.append(FrameView(_labelled(store.get(index), time), time, caption))
        if len(views) >= limit:
            break
    return views


def moment_frames(longshot: Any, video: str, segments: Sequence[Any], limit: int = MAX_FRAMES) -> list[FrameView]:
    """The keyframes of some segments (a fact's sightings), labelled with their times."""
    times = longshot.frames(video).times
    items = [
        Evidence(
            "segment",
            s.start,
            s.end,
            s.caption,
            1.0,
            tuple(FrameRef(video, i, float(times[i])) for i in s.keyframes if 0 <= i < len(times)),
        )
        for s in segments
    ]
    return evidence_frames(longshot, video, items, limit)


def sketch_images(evidence: Sequence[Evidence], timed: bool = True) -> list[tuple[np.ndarray, str]]:
    """The sketches the agent drew, as (picture, caption); a sketch whose file is gone is skipped.

    `timed=False` leaves times out of the captions (a still image has none)."""
    found = []
    for item in evidence:
        if item.kind != "sketch" or not item.image_path or not Path(item.image_path).is_file():
            continue
        try:
            image = Canvas.open(item.image_path).render()
        except LongshotError:
            continue
        text = clip(item.text, 80)
        found.append((image, f"{format_span(item.start, item.end)} · {text}" if timed else text))
    return found


def all_evidence(answer: Answer) -> list[Evidence]:
    """The answer's evidence first, then everything else the steps found, each once."""
    seen, items = set(), []
    for item in [*answer.evidence, *(e for step in answer.trace for e in step.evidence)]:
        key = item.key or (item.kind, item.start, item.end, item.text)
        if key not in seen:
            seen.add(key)
            items.append(item)
    return items


def frame_at(longshot: Any, video: str, time: float) -> FrameView | None:
    """The stored frame nearest `time` seconds (unlabelled), or None before any frame is committed."""
    store = longshot.frames(video)
    index = _nearest_index(store.times, time)
    if index is None:
        return None
    when = float(store.times[index])
    return FrameView(store.get(index), when, format_time(when))


def _data_uri(image: np.ndarray) -> str:
    """A small JPEG inline in the page, so a still needs no file served."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def player_html(home: Path, record: VideoRecord | None, start: float = 0.0, still: FrameView | None = None) -> str:
    """An HTML5 player on the library's copy of the video from `start` seconds, `still` as its poster.

    Where the browser cannot play the file (not in the library, or a container such as AVI)
    the still is shown instead, with a line that says why.
    """
    if record is None:
        return '<div class="ls-player-empty">Pick a video to play it here. Click an evidence frame to jump to its moment.</div>'
    name = html.escape(record.name)
    if still is not None:
        picture = f'<img class="ls-player" src="{_data_uri(still.image)}" alt="{name} at {format_time(still.time)}">'
        shown = f"{name} at {format_time(still.time)}"
    else:
        picture, shown = "", name
    if not in_uploads(home, record.path):
        note = "it was ingested from the command line, so the app does not serve its file; upload it here to play it"
        return picture + f'<div class="ls-player-caption">{shown}: {note}.</div>'
    suffix = Path(record.path).suffix.lower()
    if suffix not in BROWSER_PLAYS:
        return picture + f'<div class="ls-player-caption">{shown} (browsers cannot play {html.escape(suffix)} files).</div>'
    src = FILE_ROUTE + quote(str(Path(record.path).resolve()))
    poster = f' poster="{_data_uri(still.image)}"' if still is not None else ""
    return (
        f'<video class="ls-player" src="{src}#t={start:.1f}"{poster} controls autoplay playsinline preload="metadata"></video>'
        f'<div class="ls-player-caption">▶ {name} from {format_time(start)}</div>'
    )
