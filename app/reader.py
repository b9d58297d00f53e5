"""An LLM that writes a free-form answer from the selected evidence, and the check that keeps it honest.

The offline policy answers an open question with the evidence sentence that says most of
what was asked: right, but rarely how a person would say it. A reader LLM writes the
answer from the same few evidence items and names the ones it used; the answer then
carries their moments. A small model will also write what the evidence never said, so
every answer an LLM writes passes `grounding` first: its codes and numbers must appear in
the evidence word for word, and most of its other content words too (or in the question).
A reader's answer must also `keep` what the extractive answer says (its codes, most of its
words), so that a rewording never loses the answer. An answer that fails either check
gives way to the extractive one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.agent import describe
from app.answer import ABSTAIN_TEXT, Evidence
from app.prompts import READER, READER_SCHEMA
from app.questions import parse_question
from app.scoring import STOPWORDS, tokens, word_credit
from perception.errors import ModelOutputError
from perception.timefmt import format_span
from perception.vlm.json_reply import parse_json_reply
from perception.vlm.messages import Message

READ_KINDS = frozenset({"open", "said", "shown"})  # prose answers; counts, times and choices stay exact
MAX_EVIDENCE = 5
MAX_MOMENTS = 3
MIN_WORD_SHARE = 0.67  # of an answer's content words, the share the evidence (or the question) must hold
_TIME = re.compile(r"\b\d{1,2}(?::\d{2}){1,2}(?:\.\d)?\b")
_CODE = re.compile(r"[A-Za-z0-9]+(?:[-./][A-Za-z0-9]+)*")
_WORD = re.compile(r"[a-z0-9]+")
# Words an answer uses to talk about the video rather than to say what is in it.
_FRAMING = frozenset(
    [
        "appears",
        "appear",
        "displayed",
        "display",
        "displays",
        "mentioned",
        "mentions",
        "reads",
        "read",
        "written",
        "text",
        "visible",
        "seen",
        "heard",
        "spoken",
        "states",
        "according",
        "evidence",
        "answer",
        "segment",
        "frame",
        "frames",
        "moment",
        "says",
        "shows",
        "showing",
        "video",
        "clip",
        "notice",
        "screen",
    ]
)


@dataclass(frozen=True)
class Grounding:
    grounded: bool
    missing: tuple[str, ...] = ()  # the answer's terms the evidence does not hold

    def describe(self) -> str:
        return "grounded in the evidence" if self.grounded else f"not in the evidence: {', '.join(self.missing[:5])}"


def grounding(answer: str, question: str, evidence: Sequence[Evidence]) -> Grounding:
    """Whether `answer` says only what the evidence (or the question) says: every code or number word for
    word (a short one as a whole word), and at least MIN_WORD_SHARE of its other content words
    (one OCR or ASR slip allowed in long words). Times written as m:ss are the evidence's moments."""
    source = " ".join(e.text for e in evidence) + " " + question
    text = _TIME.sub(" ", answer)
    codes = {c.lower() for c in _CODE.findall(text) if any(ch.isdigit() for ch in c)}
    held, whole = _squashed(source), set(_WORD.findall(source.lower()))
    # a short code ("B7", "17") must be a whole word there: "17" is inside "4172", and is an evidence number
    missing = [code for code in sorted(codes) if (_squashed(code) not in held if len(code) >= 3 else code not in whole)]
    words = {w for w in tokens(text) if w.isalpha() and len(w) >= 3 and w not in STOPWORDS and w not in _FRAMING}
    vocabulary = set(tokens(source))
    absent = sorted(w for w in words if not any(word_credit(_singular(w), _singular(v)) > 0 for v in vocabulary))
    too_many = bool(words) and (len(words) - len(absent)) / len(words) < MIN_WORD_SHARE
    return Grounding(not missing and not too_many, tuple(missing + (absent if too_many else [])))


def keeps(answer: str, extractive: str, question: str) -> Grounding:
    """Whether `answer` still says what the extractive answer says: at least MIN_WORD_SHARE of its terms
    beyond the question's own (its codes and numbers among them, word for word), in other words or not.
    A reader that drops the "B7" of "GATE B7 CLOSED", or answers another question, fails."""
    asked = {_singular(w) for w in tokens(question)}
    wanted = {_singular(t) for t in _terms(_TIME.sub(" ", extractive))} - asked
    if not wanted:
        return Grounding(True)
    said = {_singular(t) for t in _terms(_TIME.sub(" ", answer))}
    dropped = sorted(w for w in wanted if not any(word_credit(w, s) > 0 for s in said))
    codes_dropped = [w for w in dropped if any(c.isdigit() for c in w)]
    too_many = (len(wanted) - len(dropped)) / len(wanted) < MIN_WORD_SHARE
    return Grounding(not codes_dropped and not too_many, tuple(dropped))


def _terms(text: str) -> set[str]:
    """Content words and numbers: what an answer says, without its small words and framing."""
    return {t for t in tokens(text) if (t.isdigit() or len(t) >= 3) and t not in STOPWORDS and t not in _FRAMING}


def _squashed(text: str) -> str:
    """Lowercase letters and digits only, so 'X7-QL9' is found in 'code x7 ql9'."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def reads(question: str, options: Sequence[str]) -> bool:
    """Whether a question's answer is prose a reader should write (not a choice, count, time or yes/no)."""
    return not options and parse_question(question).kind in READ_KINDS


@dataclass(frozen=True)
class Reading:
    """What the reader wrote: the answer with its moments, the evidence it cites (indices into the
    question's evidence), and whether it passed the check."""

    text: str
    cited: tuple[int, ...]
    grounding: Grounding


class Reader:
    """Writes free-form answers with an LLM (any client with `chat`), from at most MAX_EVIDENCE items."""

    def __init__(self, llm: Any):
        self.llm = llm

    def read(self, question: str, evidence: Sequence[Evidence], chosen: Sequence[int]) -> Reading:
        """The answer to `question` from `evidence[i]` for i in `chosen` (numbered as in the question's
        evidence). Raises VLMError when the LLM cannot be reached, ModelOutputError for an unusable reply."""
        shown = list(dict.fromkeys(i for i in chosen if 0 <= i < len(evidence)))[:MAX_EVIDENCE]
        lines = "\n".join(describe(evidence[i], i) for i in shown)
        prompt = READER.format(question=question, evidence=lines or "(none)", abstain=ABSTAIN_TEXT)
        reply = self.llm.chat([Message.user(prompt)], json_mode=True, schema=READER_SCHEMA)
        data = parse_json_reply(reply.text)
        answer, cited = data.get("answer"), data.get("evidence", [])
        if not isinstance(answer, str) or not answer.strip() or not isinstance(cited, list):
            raise ModelOutputError(f'expected {{"answer": str, "evidence": [numbers]}}, got {reply.text[:200]!r}')
        used = tuple(i for i in dict.fromkeys(c for c in cited if isinstance(c, int)) if i in shown) or tuple(shown[:1])
        text = " ".join(answer.split())
        checked = grounding(text, question, [evidence[i] for i in shown])
        if text != ABSTAIN_TEXT and used:
            moments = dict.fromkeys(format_span(evidence[i].start, evidence[i].end) for i in used)
            text += " (" + ", ".join(list(moments)[:MAX_MOMENTS]) + ")"
        return Reading(text, used, checked)
