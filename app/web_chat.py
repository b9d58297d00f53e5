"""The chat of the web app as plain data: messages for each step and the answer, evidence frames, sketches.

Messages are Gradio's "messages" format (dicts with role, content and metadata); a
message with `metadata.title` is drawn as a collapsible tool message, so each step of the
agent appears as it happens and folds away once done.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from PIL import Image

from app.answer import Answer, Evidence, Step
from app.web_uploads import in_uploads
from memory.frames import FrameRef
from memory.store import VideoRecord
from perception.errors import LongshotError
from perception.timefmt import format_time
from sketchpad import Canvas

# Plain symbols only: a browser without a colour-emoji font draws emoji as empty boxes.
ACTION_LABELS = {
    "search_episodic": "Searched the timeline",
    "search_semantic": "Searched facts",
    "search_visual": "Searched frames",
    "inspect": "Looked closer",
    "sketch": "Sketched",
    "answer": "Answered",
}
THINKING = "Searching the memories…"
MAX_FRAMES = 8
MAX_LISTED = 5
LONG_ANSWER = 200  # characters
FILE_ROUTE = "/gradio_api/file="
BROWSER_PLAYS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".ogv", ".mkv"})  # containers browsers commonly play


class QuestionError(LongshotError):
    """A question the agent cannot take (empty, or no video picked)."""


Message = dict[str, Any]


@dataclass(frozen=True)
class FrameView:
    """A frame to show: the picture (its time drawn on it), when it is, and a caption."""

    image: np.ndarray
    time: float
    caption: str


def span_text(start: float, end: float) -> str:
    return format_time(start) if end <= start else f"{format_time(start)}–{format_time(end)}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def step_title(step: Step) -> str:
    """What the step did, in one line: the action and its main argument."""
    args = step.args
    label = ACTION_LABELS.get(step.action, step.action)
    if step.error:
        label = f"⚠ {step.action or 'step'} failed"
    if step.action in ("search_episodic", "search_semantic", "search_visual") and args.get("query"):
        detail = f"“{_clip(str(args['query']), 60)}”"
        if step.action == "search_episodic":
            scale = args.get("scale")
            detail += f" at {format_time(float(scale))} scale" if scale else " at every scale"
        return f"{label} · {detail}"
    if step.action == "inspect" and "start" in args and "end" in args:
        return f"{label} · {span_text(float(args['start']), float(args['end']))}, {args.get('n', 6)} frames"
    if step.action == "sketch":
        return f"{label} · {args.get('tool', '?')} on frame {args.get('frame', '?')}"
    return label


def _plain(text: str) -> str:
    """Text from a video (OCR, speech) shown as text, never as markup."""
    return html.escape(text, quote=False)


def evidence_line(item: Evidence) -> str:
    return f"- `{span_text(item.start, item.end)}` {item.kind} · {item.score:.2f} — {_plain(_clip(item.text, 140))}"


def moments_text(evidence: Sequence[Evidence]) -> str:
    """Where the evidence lies, each span once: "`0:20–0:30` 3 frames, `0:40` fact"."""
    counts: dict[tuple[str, str], int] = {}
    for item in evidence:
        key = (span_text(item.start, item.end), item.kind)
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"`{span}` {n} {kind}s" if n > 1 else f"`{span}` {kind}" for (span, kind), n in counts.items())


def step_message(step: Step) -> Message:
    """A collapsed tool message: what came back, and the first few things it found."""
    lines = [f"Error: {_plain(step.error)}" if step.error else _plain(step.summary)]
    lines += [evidence_line(item) for item in step.evidence[:MAX_LISTED]]
    if len(step.evidence) > MAX_LISTED:
        lines.append(f"- … and {len(step.evidence) - MAX_LISTED} more")
    return {
        "role": "assistant",
        "content": "\n".join(lines),
        "metadata": {"title": step_title(step), "status": "done", "duration": round(step.seconds, 2)},
    }


def pending_message() -> Message:
    return {
        "role": "assistant",
        "content": "The agent is choosing its next step.",
        "metadata": {"title": THINKING, "status": "pending"},
    }


def answer_message(answer: Answer, record: VideoRecord | None = None) -> Message:
    """The answer first, then when in the video, then how it was reached."""
    letter = f"({answer.choice}) " if answer.choice else ""
    text = _plain(answer.text.strip() or "(no text)")
    # A short answer stands out in bold; a long one (a page read aloud) stays readable.
    bold = f"**{letter}{text}**" if len(text) <= LONG_ANSWER else f"{letter}{text}"
    parts = [f"_{text}_" if answer.abstained else bold]
    facts = []
    if answer.span:
        facts.append(f"at {span_text(*answer.span)}")
    facts.append(f"{len(answer.trace)} steps, {answer.seconds:.1f} s")
    if answer.policy:
        facts.append(f"{answer.policy} policy")
    if answer.evidence:
        facts.append(f"evidence {moments_text(answer.evidence)}")
    parts.append("<small>" + " · ".join(facts) + "</small>")
    if record is not None and record.status == "ingesting":
        parts.append(
            f"_Answered from the first {format_time(record.committed_until)} of {format_time(record.duration)}: "
            "the video is still being ingested._"
        )
    return {"role": "assistant", "content": "\n\n".join(parts)}


def chat_turns(
    stream: Iterator[Step | Answer],
    question: str,
    history: Sequence[Message],
    record: Callable[[], VideoRecord | None] = lambda: None,
) -> Iterator[tuple[list[Message], Answer | None]]:
    """The chat after each item of an agent's stream: the question, the steps so far and a
    pending line, then the answer (`record` is read once the answer is in, to say how much
    of a still-ingesting video it saw)."""
    messages = [*history, {"role": "user", "content": question}]
    yield [*messages, pending_message()], None
    for item in stream:
        if isinstance(item, Step):
            messages.append(step_message(item))
            yield [*messages, pending_message()], None
        else:
            messages.append(answer_message(item, record()))
            yield messages, item


def _question(question: str | None) -> str:
    question = (question or "").strip()
    if not question:
        raise QuestionError("type a question first")
    return question


def chat_stream(
    longshot: Any, video: str | None, question: str, history: Sequence[Message]
) -> Iterator[tuple[list[Message], Answer | None]]:
    """A question about a video, as chat states (see `chat_turns`)."""
    if not video:
        raise QuestionError("pick a video first (or upload one in the Library tab)")
    question = _question(question)
    record = longshot.video(video)
    yield from chat_turns(longshot.ask_stream(record.id, question), question, history, lambda: longshot.video(record.id))


def image_chat_stream(longshot: Any, image: Any, question: str) -> Iterator[tuple[list[Message], Answer | None]]:
    """A question about a still image, as chat states (see `chat_turns`)."""
    if image is None:
        raise QuestionError("give an image first")
    question = _question(question)
    yield from chat_turns(longshot.ask_image_stream(image, question), question, [])


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
            index = _nearest_index(times, (item.start + item.end) / 2)
            if index is None:
                continue
            time = float(times[index])
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
        text = _clip(item.text, 80)
        found.append((image, f"{span_text(item.start, item.end)} · {text}" if timed else text))
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
