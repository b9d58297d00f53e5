"""Reading a question and scoring answers against evidence, with no generative model.

Multiple-choice distractors often differ from the truth in one word or one digit, so an
option is scored by the words that set it apart from the other options, found in the
evidence; a dense similarity only breaks ties. Digits must match exactly; long words
tolerate one OCR or ASR slip.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.answer import Evidence

STOPWORDS = frozenset(
    "a an the is are was were be been to of in on at for and or what which who when where how does do did "
    "it this that these those video said shown show says say screen notice words word phrase first comes come "
    "earlier later before after last time moment with by from as".split()
)
_WHEN = re.compile(r"^\s*(when|at what (time|point|moment)|what time)\b", re.I)
_ORDER_FIRST = re.compile(r"\b(first|earlier|before)\b", re.I)
_ORDER_LAST = re.compile(r"\b(last|later|after)\b", re.I)
_QUOTED = re.compile(r"[\"“'‘]([^\"”'’]{3,})[\"”'’]")


@dataclass(frozen=True)
class QuestionKind:
    kind: str  # "when" | "order" | "choice" | "open"
    latest: bool = False  # for order questions: which comes last rather than first


def classify(question: str, options: Sequence[str] | None) -> QuestionKind:
    if options and len(options) >= 2 and (_ORDER_FIRST.search(question) or _ORDER_LAST.search(question)):
        if re.search(r"\b(which|what)\b.*\b(comes?|happens?|appears?|is said|is shown|occurs?)\b", question, re.I):
            return QuestionKind("order", latest=bool(_ORDER_LAST.search(question)) and not _ORDER_FIRST.search(question))
    if options:
        return QuestionKind("choice")
    if _WHEN.search(question):
        return QuestionKind("when")
    return QuestionKind("open")


def search_query(text: str) -> str:
    """The part of a question worth searching for: its quoted text if any, else the question."""
    quoted = _QUOTED.findall(text)
    return " ".join(quoted) if quoted else text


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+|\d+", text.lower())


def content_tokens(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in STOPWORDS}


def _matches(word: str, vocabulary: set[str]) -> bool:
    if word in vocabulary:
        return True
    if word.isdigit() or len(word) < 6:
        return False
    return any(abs(len(word) - len(v)) <= 1 and _edit_distance_at_most_one(word, v) for v in vocabulary)


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    if len(a) > len(b):
        a, b = b, a
    i = j = edits = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i += 1
            j += 1
            continue
        edits += 1
        if edits > 1:
            return False
        if len(a) == len(b):
            i += 1
        j += 1
    return edits + (len(b) - j) + (len(a) - i) <= 1


def coverage(query: str, text: str) -> float:
    """Share of the query's content words present in the text."""
    wanted = content_tokens(query)
    if not wanted:
        return 0.0
    vocabulary = set(tokens(text))
    return sum(_matches(w, vocabulary) for w in wanted) / len(wanted)


def score_options(options: Sequence[str], evidence: Sequence[Evidence], embedder=None) -> np.ndarray:
    """A score per option: its distinguishing words found in evidence, weighted by evidence score."""
    option_words = [content_tokens(o) or set(tokens(o)) for o in options]
    shared = set.intersection(*option_words) if option_words else set()
    weights = np.array([max(e.score, 0.05) for e in evidence]) if evidence else np.zeros(0)
    vocabularies = [set(tokens(e.text)) for e in evidence]
    scores = np.zeros(len(options))
    for i, words in enumerate(option_words):
        distinct = (words - shared) or words
        for weight, vocabulary in zip(weights, vocabularies):
            found = sum(_matches(w, vocabulary) for w in distinct) / max(1, len(distinct))
            scores[i] = max(scores[i], weight * found)
    if embedder is not None and evidence:
        text_vectors = embedder.embed([e.text for e in evidence])
        option_vectors = embedder.embed(list(options))
        scores += 0.05 * (option_vectors @ text_vectors.T).max(axis=1)
    return scores


def best_sentence(query: str, text: str) -> str:
    """The sentence or line of `text` that covers most of the query; the whole text if none does."""
    pieces = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n", text) if p.strip()]
    if not pieces:
        return text
    return max(pieces, key=lambda p: coverage(query, p))
