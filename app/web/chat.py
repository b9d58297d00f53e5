"""The chat of the web app as plain data: a message for each step of the agent, and one for the answer.

Messages are Gradio's "messages" format (dicts with role, content and metadata); a
message with `metadata.title` is drawn as a collapsible tool message, so each step of the
agent appears as it happens and folds away once done.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from app.answer import Answer, Evidence, Step
from memory.store import VideoRecord
from perception.errors import LongshotError
from perception.timefmt import format_span, format_time

# Plain symbols only: a browser without a colour-emoji font draws emoji as empty boxes.
ACTION_LABELS = {
    "occurrences": "Searched the timeline",
    "timeline": "Read the timeline",
    "search_episodic": "Searched the segments",
    "search_semantic": "Searched facts",
    "search_visual": "Searched frames",
    "inspect": "Looked closer",
    "sketch": "Sketched",
    "answer": "Answered",
}
THINKING = "Searching the memories…"
MAX_LISTED = 5
LONG_ANSWER = 200  # characters


class QuestionError(LongshotError):
    """A question the agent cannot take (empty, or no video picked)."""


Message = dict[str, Any]


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def step_title(step: Step) -> str:
    """What the step did, in one line: the action and its main argument."""
    args = step.args
    label = ACTION_LABELS.get(step.action, step.action)
    if step.error:
        label = f"⚠ {step.action or 'step'} failed"
    if step.action in ("occurrences", "search_episodic", "search_semantic", "search_visual") and args.get("query"):
        detail = f"“{clip(str(args['query']), 60)}”"
        if step.action == "search_episodic":
            scale = args.get("scale")
            detail += f" at {format_time(float(scale))} scale" if scale else " at every scale"
        return f"{label} · {detail}"
    if step.action in ("inspect", "timeline") and "start" in args and "end" in args:
        frames = f", {args.get('n', 6)} frames" if step.action == "inspect" else ""
        return f"{label} · {format_span(float(args['start']), float(args['end']))}{frames}"
    if step.action == "sketch":
        return f"{label} · {args.get('tool', '?')} on frame {args.get('frame', '?')}"
    return label


def _plain(text: str) -> str:
    """Text from a video (OCR, speech) shown as text, never as markup."""
    return html.escape(text, quote=False)


def evidence_line(item: Evidence) -> str:
    return f"- `{format_span(item.start, item.end)}` {item.kind} · {item.score:.2f} — {_plain(clip(item.text, 140))}"


def moments_text(evidence: Sequence[Evidence]) -> str:
    """Where the evidence lies, each span once: "`0:20-0:30` 3 frames, `0:40` fact"."""
    counts: dict[tuple[str, str], int] = {}
    for item in evidence:
        key = (format_span(item.start, item.end), item.kind)
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
        facts.append(f"at {format_span(*answer.span)}")
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
