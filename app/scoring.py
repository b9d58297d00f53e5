"""Reading a question and scoring answers against evidence, with no generative model.

Multiple-choice distractors often differ from the truth in one word or one digit ("GATE B7
CLOSED" against "GATE B0 CLOSED", "he was not an" against "she was not an"), so an option
is matched against each sentence of the evidence as an ordered phrase, every word counting
(small words too, a little: "at" against "before" is the whole difference), numbers most.
The options' shared words score alike, so the words that differ decide. A sentence must
say at least half of a phrase to count at all: a stray "1" in "read 1 line" does not say
"GATE B1 CLOSED". Digits must match exactly; longer words tolerate one OCR or ASR slip,
for less than an exact match, so a truth read exactly beats a distractor one letter away.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from app.answer import Evidence

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "what",
        "which",
        "who",
        "when",
        "where",
        "how",
        "does",
        "do",
        "did",
        "it",
        "this",
        "that",
        "these",
        "those",
        "video",
        "said",
        "shown",
        "show",
        "says",
        "say",
        "screen",
        "notice",
        "words",
        "word",
        "phrase",
        "first",
        "comes",
        "come",
        "earlier",
        "later",
        "before",
        "after",
        "last",
        "time",
        "moment",
        "with",
        "by",
        "from",
        "as",
    ]
)
# Words of a question's frame ("which of these notices is shown on screen?"), not of what it asks about.
QUESTION_FRAME = STOPWORDS | frozenset(
    [
        "notices",
        "phrases",
        "options",
        "following",
        "one",
        "ones",
        "happens",
        "happen",
        "appears",
        "appear",
        "occurs",
        "occur",
        "heard",
        "spoken",
        "seen",
        "displayed",
        "written",
        "mentioned",
    ]
)
# A quotation: opened after a space or the start, closed before a non-word character, so
# an apostrophe inside a word ("giraffe's", "don't") neither opens nor closes one.
_QUOTED = re.compile(r"(?:^|(?<=[\s(\[]))[\"“'‘](.{2,}?)[\"”'’](?=$|[^\w])")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n|;\s*")

EXACT, FUZZY = 1.0, 0.7  # credit for a word found as written, and one edit away
MIN_SHARE = 0.5  # the least share of a phrase a sentence must say to count as saying it
SMALL_WEIGHT = 0.3  # a stopword still counts (it may be what differs), but little
NUMBER_WEIGHT = 2.0  # numbers and codes are what questions about notices hinge on


def search_query(text: str) -> str:
    """The part of a question or option worth searching for: its quoted text if any, else all of it."""
    quoted = [q.strip() for q in _QUOTED.findall(text) if q.strip()]
    return " ".join(quoted) if quoted else text


def is_specific(query: str) -> bool:
    """Whether a query names anything beyond the question's frame ("which of these is shown?" does not)."""
    return bool(set(tokens(query)) - QUESTION_FRAME)


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+|\d+", text.lower())


def content_tokens(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in STOPWORDS}


_NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen"
NUMBER_WORDS = {word: str(value) for value, word in enumerate(_NUMBERS.split())}


@lru_cache(maxsize=65536)
def word_credit(word: str, other: str) -> float:
    """EXACT for the same word or number ("five" and "5": speech recognition writes either), FUZZY for one
    edit apart (words of 6+ letters, never numbers), else 0."""
    if word == other or NUMBER_WORDS.get(word, word) == NUMBER_WORDS.get(other, other):
        return EXACT
    if word.isdigit() or other.isdigit() or min(len(word), len(other)) < 6 or abs(len(word) - len(other)) > 1:
        return 0.0
    return FUZZY if _edit_distance_at_most_one(word, other) else 0.0


def _matches(word: str, vocabulary: set[str]) -> bool:
    return word in vocabulary or any(word_credit(word, v) > 0 for v in vocabulary)


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
    """Share of the query's content words present in the text, in any order."""
    wanted = content_tokens(query)
    if not wanted:
        return 0.0
    vocabulary = set(tokens(text))
    return sum(_matches(w, vocabulary) for w in wanted) / len(wanted)


def sentences(text: str) -> list[str]:
    """The sentences, lines and on-screen text items of an evidence text."""
    return [piece for piece in (p.strip() for p in _SENTENCES.split(text)) if piece]


def word_weight(word: str) -> float:
    return SMALL_WEIGHT if word in STOPWORDS else (NUMBER_WEIGHT if any(c.isdigit() for c in word) else 1.0)


def phrase_match(phrase: str, text: str) -> float:
    """How much of `phrase` one sentence of `text` says, in order: 1.0 for all of it word for word.

    The best sentence's weighted longest common subsequence of words over the phrase's
    total weight; 0 when no sentence says at least MIN_SHARE of it.
    """
    words = tokens(phrase)
    if not words:
        return 0.0
    weights = [word_weight(w) for w in words]
    total = sum(weights)
    wanted = (set(words) - STOPWORDS) or set(words)  # a sentence sharing only small words with the phrase says none of it
    best = 0.0
    for sentence in sentences(text):
        found = tokens(sentence)
        if not _could_match(wanted, found):
            continue
        best = max(best, _weighted_lcs(words, weights, found) / total)
        if best >= 1.0:
            break
    return best if best >= MIN_SHARE else 0.0


def _could_match(wanted: set[str], found: list[str]) -> bool:
    present = set(found)
    if {NUMBER_WORDS.get(w, w) for w in wanted} & {NUMBER_WORDS.get(f, f) for f in present}:
        return True
    return bool(wanted & present) or any(word_credit(w, f) > 0 for w in wanted if len(w) >= 6 for f in present)


def _weighted_lcs(words: list[str], weights: list[float], found: list[str]) -> float:
    """Longest common subsequence of `words` in `found`, each matched word earning its weight times its credit."""
    previous = [0.0] * (len(found) + 1)
    for word, weight in zip(words, weights):
        current = [0.0] * (len(found) + 1)
        for j, other in enumerate(found, 1):
            credit = word_credit(word, other)
            current[j] = max(previous[j], current[j - 1], previous[j - 1] + weight * credit if credit else 0.0)
        previous = current
    return previous[-1]


def option_matches(options: Sequence[str], evidence: Sequence[Evidence]) -> np.ndarray:
    """(options, evidence) matrix of `phrase_match` of each option (its quoted part, if any) in each evidence item."""
    queries = [search_query(o) for o in options]
    matrix = [[phrase_match(query, item.text) for item in evidence] for query in queries]
    return np.array(matrix, dtype=np.float64).reshape(len(options), len(evidence))


def score_options(options: Sequence[str], evidence: Sequence[Evidence], embedder=None) -> np.ndarray:
    """A score per option: how well the evidence says it, by its best-matching evidence item.

    Evidence scores break near-ties (an option said in a segment that matched the question
    beats one said in passing), and, with an `embedder`, so does the dense similarity of
    option and evidence (slower: it embeds every evidence text).
    """
    if not options:
        return np.zeros(0)
    if not evidence:
        return np.zeros(len(options))
    scores = best_support(option_matches(options, evidence), evidence)
    if embedder is not None:
        text_vectors = embedder.embed([e.text for e in evidence])
        option_vectors = embedder.embed(list(options))
        scores += 0.01 * (option_vectors @ text_vectors.T).max(axis=1)
    return scores


def best_support(matrix: np.ndarray, evidence: Sequence[Evidence]) -> np.ndarray:
    """Each option's best match in an (options, evidence) matrix, a match in stronger evidence a little ahead."""
    strength = np.array([max(e.score, 0.0) for e in evidence])
    return (matrix * (1.0 + 0.05 * strength)).max(axis=1, initial=0.0)


def best_sentence(query: str, text: str) -> str:
    """The sentence or line of `text` that says most of the query; the whole text if none does."""
    pieces = sentences(text)
    if not pieces:
        return text
    return max(pieces, key=lambda p: (phrase_match(query, p), coverage(query, p)))
