"""Hybrid ranking shared by episodic and semantic search: dense cosine plus BM25, fused.

Fusion is a weighted sum of normalised scores::

    score = (1 - w) * max(cosine, 0) + w * bm25 / max(bm25 over the searched documents)

rather than reciprocal rank fusion, because ranks throw away how relevant the best hit
is: the offline policy compares relevance across scales and abstains on weak evidence,
which needs magnitudes. The dense part keeps its absolute scale; BM25 is unbounded, so it
is divided by its best score, and an exact rare term (a code, a number, a name) that the
text embedder blurs still lifts its document by up to `w`. Without an embedder the score
is the normalised BM25 alone.

Documents are searched by prefix (`visible`): callers order their corpus so that what a
question may see at time `until` is always a prefix, and BM25 statistics are computed over
that prefix only, so the future never leaks into the scores.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from memory.lru import LruCache
from memory.store import Library

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG when imported: a line per index built

LEXICAL_WEIGHT = 0.4
_TOKEN = re.compile(r"\w+")
_STOPWORDS = frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Casefolded word tokens without English stopwords; lone letters dropped, lone digits kept."""
    words = _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())
    return [word for word in words if word not in _STOPWORDS and (len(word) > 1 or word.isdigit())]


@dataclass(frozen=True)
class Ranked:
    """One document's place in a ranking: its position in the corpus and its scores."""

    position: int
    score: float
    dense: float
    lexical: float


class HybridIndex:
    """The tokens and (optionally) the unit embedding matrix of one corpus."""

    def __init__(self, texts: Sequence[str], matrix: np.ndarray | None):
        self.tokens = [tokenize(text) for text in texts]
        self.matrix = matrix
        self._bm25: LruCache[int, bm25s.BM25 | None] = LruCache(8)  # keyed by prefix length

    def __len__(self) -> int:
        return len(self.tokens)

    def rank(
        self, query: str, query_vector: np.ndarray | None, k: int, visible: int | None = None, mask: np.ndarray | None = None
    ) -> list[Ranked]:
        """The best `k` of the first `visible` documents (all by default), best first; `mask`
        (a boolean per document) leaves out the others, without changing the BM25 statistics."""
        count = len(self) if visible is None else min(visible, len(self))
        if count == 0 or k <= 0:
            return []
        lexical = self._lexical(tokenize(query), count)
        if query_vector is None or self.matrix is None:
            dense, weight = np.zeros(count, np.float32), 1.0
        else:
            dense, weight = np.clip(self.matrix[:count] @ query_vector, 0.0, None), LEXICAL_WEIGHT
        score = (1.0 - weight) * dense + weight * lexical
        order = np.argsort(-score, kind="stable")
        if mask is not None:
            order = order[np.asarray(mask[:count], bool)[order]]
        return [Ranked(int(i), float(score[i]), float(dense[i]), float(lexical[i])) for i in order[:k]]

    def _lexical(self, query_tokens: list[str], count: int) -> np.ndarray:
        if not query_tokens:
            return np.zeros(count, np.float32)
        model = self._bm25.get_or_load(count, lambda: self._build_bm25(count))
        if model is None:
            return np.zeros(count, np.float32)
        scores = np.asarray(model.get_scores(query_tokens), np.float32)
        best = float(scores.max())
        return scores / best if best > 0 else scores

    def _build_bm25(self, count: int) -> bm25s.BM25 | None:
        """BM25 over the first `count` documents; None when they hold no word at all."""
        if not any(self.tokens[:count]):
            return None
        model = bm25s.BM25()
        model.index(self.tokens[:count], show_progress=False)
        return model


class QueryVectors:
    """Embeds queries through a text embedder, remembering recent ones (agents repeat them)."""

    def __init__(self, embedder, max_entries: int = 256):
        self.embedder = embedder
        self._cache: LruCache[str, np.ndarray] = LruCache(max_entries)

    def __call__(self, query: str) -> np.ndarray | None:
        """The unit query vector, or None without an embedder (lexical search only)."""
        if self.embedder is None:
            return None
        return self._cache.get_or_load(query, lambda: np.asarray(self.embedder.embed([query]), np.float32)[0])


def stack_vectors(blobs: Sequence[bytes | None], dim: int) -> np.ndarray:
    """Stored float32 embeddings as an (N, dim) matrix; a missing or foreign-sized one stays zero."""
    matrix = np.zeros((len(blobs), dim), np.float32)
    for i, blob in enumerate(blobs):
        if blob is not None and len(blob) == 4 * dim:
            matrix[i] = np.frombuffer(blob, np.float32)
    return matrix


class _Revisioned(Protocol):
    @property
    def revision(self) -> int: ...


T = TypeVar("T", bound=_Revisioned)
K = TypeVar("K", bound=Hashable)


def committed_view(
    library: Library, cache: LruCache[K, T], key: K, video: str, memory: str, load: Callable[[sqlite3.Connection, int], T]
) -> T:
    """`load(conn, revision)` of committed rows, cached under `key` until `memory` of `video` changes.

    Inside this thread's write transaction the view holds uncommitted rows that may yet be
    rolled back, so it is loaded fresh and never cached.
    """
    conn = library.connect()
    if conn.in_transaction:
        return load(conn, -1)
    with library.snapshot() as conn:
        revision = library.revision(conn, video, memory)
        cached = cache.get(key)
        if cached is not None and cached.revision == revision:
            return cached
        view = load(conn, revision)
    cache.put(key, view)
    return view
