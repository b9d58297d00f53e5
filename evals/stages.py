"""The two stages of an evaluation, run by a worker that holds one `Longshot` (models load once).

`ingest_video` watches a video (at once when the library already has its content);
`answer_item` asks one question and, in the same call, two baselines: blind (the question
and options without the video) and no memory (the offline policy over a few uniformly
sampled moments of the video, evals.no_memory). Both return plain dicts, so the local
process pool and Ray actors carry them the same way, and neither raises for a bad item:
the error is recorded on the item, and the run goes on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from app import LETTERS, Evidence, Longshot, numbered_side_by_side
from app.answer import ABSTAIN_TEXT
from app.scoring import score_options
from evals.datasets.base import Item
from evals.metrics import Result, extract_choice
from evals.no_memory import answer_without_memory
from evals.records import compact_evidence, compact_trace, item_fields
from perception.config import Config
from perception.errors import ModelUnavailableError
from perception.subtitles import read_subtitles
from perception.vlm.messages import Message

BLIND_PROMPT = """Answer this multiple-choice question. You are not shown the video or image it is about,
so choose the option that seems most likely from the text alone. Reply with the letter only.

Question: {question}
Options:
{options}"""
BLIND_OPEN_PROMPT = """Answer this question about a video in one short sentence. You are not shown the video,
so give the answer that seems most likely from the question alone.

Question: {question}"""


class StageWorker:
    """What one process (or Ray actor) runs: the stages, over one Longshot built from `config`."""

    def __init__(self, config: Config):
        # A worker's model-loading bars would tear the run's own progress bar.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")
        self.longshot = Longshot(config=config)

    def run(self, stage: str, *args: Any) -> dict[str, Any]:
        return STAGES[stage](self.longshot, *args)


def ingest_video(longshot: Longshot, path: str, subtitles: str | None = None, subtitle_offset: float = 0.0) -> dict[str, Any]:
    """Ingest one video, with its items' subtitles (on a clock that starts at `subtitle_offset`) when
    they have any; its id and how long it took, or the error that stopped it."""
    started = time.perf_counter()
    try:
        cues = read_subtitles(subtitles, offset=subtitle_offset) if subtitles else None
        result = longshot.ingest(Path(path), subtitles=cues)
    except Exception as err:  # a missing or broken video fails its items, not the run
        return {"video": path, "video_id": None, "seconds": time.perf_counter() - started, "error": _describe(err)}
    return {
        "video": path,
        "video_id": result.video.id,
        "seconds": result.seconds,
        "already_done": result.already_done,
        "error": None,
    }


def answer_item(longshot: Longshot, item: Item, video_id: str | None, ingest_seconds: float | None = None) -> dict[str, Any]:
    """Ask one item (a video question, or an image question through `ask_image`) and its blind baseline."""
    record = item_fields(item)
    started = time.perf_counter()
    try:
        if video_id is None:
            answer = longshot.ask_image(_image_input(item), item.question, item.options or None)
        else:
            answer = longshot.ask(video_id, item.question, item.options or None)
    except Exception as err:  # recorded on the item; a rerun tries it again
        return {
            **record,
            **Result(item, error=_describe(err)).to_dict(),
            "video_id": video_id,
            "latency_s": time.perf_counter() - started,
        }
    latency = time.perf_counter() - started
    result = Result(item, choice=answer.choice or _choice_in(answer.text, item), span=answer.span, text=answer.text)
    return {
        **record,
        **result.to_dict(),
        "video_id": video_id,
        "abstained": answer.abstained,
        "policy": answer.policy,
        "latency_s": latency,
        "ingest_s": ingest_seconds,
        "usage": dict(answer.usage),
        "evidence": compact_evidence(answer.evidence),
        "trace": compact_trace(answer.trace),
        "blind": blind_answer(longshot, item),
        "no_memory": no_memory_answer(longshot, item),
    }


def blind_answer(longshot: Longshot, item: Item) -> dict[str, Any] | None:
    """The answer from the question (and options) alone: the VLM asked with text only, or, with no
    VLM, the options scored against the question text (the offline policy's own scorer) and, for
    an open question with a truth to score, what the offline policy says on no evidence ("not
    found"). None for an open question with nothing to score."""
    if not item.options and item.truth is None:
        return None
    try:
        if longshot.models.available("vlm"):
            return _blind_vlm(longshot, item)
        if not item.options:
            return {"choice": None, "text": ABSTAIN_TEXT, "usage": {}}
        return {"choice": _blind_offline(longshot, item), "text": "", "usage": {}}
    except Exception as err:  # a baseline's failure must not fail the item
        return {"choice": None, "text": "", "usage": {}, "error": _describe(err)}


def no_memory_answer(longshot: Longshot, item: Item) -> dict[str, Any] | None:
    """The offline policy's answer from a few uniformly sampled moments of the video; None for image items."""
    if item.video is None:
        return None
    try:
        return answer_without_memory(item.video, item.question, item.options, longshot.models)
    except Exception as err:  # a baseline's failure must not fail the item
        return {"choice": None, "text": "", "span": None, "error": _describe(err)}


def _blind_vlm(longshot: Longshot, item: Item) -> dict[str, Any]:
    if item.options:
        options = "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(item.options))
        prompt = BLIND_PROMPT.format(question=item.question, options=options)
    else:
        prompt = BLIND_OPEN_PROMPT.format(question=item.question)
    reply = longshot.models.vlm.chat([Message.user(prompt)])
    usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
    choice = extract_choice(reply.text, options=item.options) if item.options else None
    return {"choice": choice, "text": reply.text, "usage": usage}


def _blind_offline(longshot: Longshot, item: Item) -> str | None:
    """The option whose words (then meaning) best match the question text; None on a tie."""
    try:
        embedder = longshot.models.text_embedder
    except ModelUnavailableError:
        embedder = None
    question = Evidence(kind="question", start=0.0, end=0.0, text=item.question, score=1.0)
    scores = score_options(item.options, [question], embedder)
    best = int(np.argmax(scores))
    if np.sum(np.isclose(scores, scores[best])) > 1:
        return None
    return LETTERS[best]


def _choice_in(text: str, item: Item) -> str | None:
    """The letter a free-text answer names, where the policy gave no choice itself."""
    return extract_choice(text, options=item.options) if item.options else None


def _image_input(item: Item) -> Path | np.ndarray:
    """The item's image, or its images side by side (`ask_image` takes one), labelled as questions name them."""
    if len(item.images) == 1:
        return item.images[0]
    return numbered_side_by_side(item.images)


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"


STAGES: dict[str, Callable[..., dict[str, Any]]] = {"ingest": ingest_video, "answer": answer_item}
