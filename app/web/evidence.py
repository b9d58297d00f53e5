"""What an answer points at, ready to show: evidence frames with their times drawn on, the sketches
the agent drew, and a player that starts at a moment.

Frames come from the video's frame store. A video uploaded here plays whole from the library's
uploads folder; any other (ingested from the command line, or in a container browsers do not
play) plays as a short clip around the moment, cut by video id and time (app.clips); a still
stands in only where no clip can be made.
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
from app.clips import Clip
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


def keyframe_view(longshot: Any, video: str, index: int, label: str) -> FrameView | None:
    """A stored frame with its time drawn on, captioned "`label` · time" (None for an index not stored)."""
    store = longshot.frames(video)
    if not 0 <= index < len(store):
        return None
    time = float(store.times[index])
    return FrameView(_labelled(store.get(index), time), time, f"{label} · {format_time(time)}")


def player_at(longshot: Any, home: Path, record: VideoRecord | None, start: float, still_at: float | None = None) -> str:
    """The player at `start` of a video, the frame at `still_at` (default `start`) as its picture; a video
    the browser cannot play whole plays as a clip around `start` (app.clips)."""
    still = frame_at(longshot, record.id, start if still_at is None else still_at) if record and record.frames else None
    playable: Clip | str | None = None
    if record is not None and record.frames and not plays_whole(home, record):
        try:
            playable = longshot.clip(record.id, start)
        except LongshotError as err:
            playable = f"no clip could be made ({err})"
    return player_html(home, record, start, still, playable)


def _data_uri(image: np.ndarray) -> str:
    """A small JPEG inline in the page, so a still needs no file served."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def player_html(
    home: Path, record: VideoRecord | None, start: float = 0.0, still: FrameView | None = None, clip: Clip | str | None = None
) -> str:
    """An HTML5 player from `start` seconds, `still` as its poster: the library's uploaded copy where the
    browser plays it, else `clip` (a short MP4 around the moment, see app.clips). Where there is neither
    (`clip` is then why not) the still is shown, with that reason."""
    if record is None:
        return '<div class="ls-player-empty">Pick a video to play it here. Click an evidence frame to jump to its moment.</div>'
    name = html.escape(record.name)
    poster = f' poster="{_data_uri(still.image)}"' if still is not None else ""
    if plays_whole(home, record):
        return _video(Path(record.path), start, poster, f"▶ {name} from {format_time(start)}")
    if isinstance(clip, Clip):
        made = " from its stored frames (its file is gone)" if clip.from_frames else ""
        caption = f"▶ {name} from {format_time(start)} · a clip of {format_span(clip.start, clip.end)}{made}"
        return _video(clip.path, clip.offset(start), poster, caption)
    shown = f"{name} at {format_time(still.time)}" if still is not None else name
    picture = f'<img class="ls-player" src="{_data_uri(still.image)}" alt="{shown}">' if still is not None else ""
    return picture + f'<div class="ls-player-caption">{shown}: {html.escape(clip or "it cannot be played here")}.</div>'


def plays_whole(home: Path, record: VideoRecord) -> bool:
    """Whether the browser plays the video's own file: uploaded here (so served) in a container browsers play."""
    return in_uploads(home, record.path) and Path(record.path).suffix.lower() in BROWSER_PLAYS


def _video(path: Path, start: float, poster: str, caption: str) -> str:
    src = FILE_ROUTE + quote(str(path.resolve()))
    return (
        f'<video class="ls-player" src="{src}#t={start:.1f}"{poster} controls autoplay playsinline preload="metadata"></video>'
        f'<div class="ls-player-caption">{caption}</div>'
    )
