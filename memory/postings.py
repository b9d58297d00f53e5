"""BM25 over a corpus too large to hold as Python token lists: postings built chunk by chunk into
numpy arrays, saved as .npy files and read back memory-mapped.

Each posting (term, document) carries its precomputed BM25 weight, stored term by term (CSR
rows), so scoring a query reads only its terms' postings: a sum per document with np.bincount.
The weights are those of bm25s's default (Lucene) variant, so scores equal its own:
idf * tf / (tf + k1 (1 - b + b dl / avgdl)), idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
k1 = 1.5, b = 0.75. Tokens are memory.hybrid's `tokenize`, so a word matches here as it does in one
video's memory.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

K1, B = 1.5, 0.75
_FILES = ("indptr", "docs", "weights", "lengths")


class PostingsBuilder:
    """Add documents' tokens in chunks, then `finish` into a folder."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self._terms: list[np.ndarray] = []
        self._docs: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self.count = 0

    def add(self, documents: Sequence[Sequence[str]]) -> None:
        terms, docs, counts, lengths = [], [], [], []
        for offset, tokens in enumerate(documents):
            for token, count in Counter(tokens).items():
                terms.append(self.vocab.setdefault(token, len(self.vocab)))
                docs.append(self.count + offset)
                counts.append(count)
            lengths.append(len(tokens))
        self._terms.append(np.asarray(terms, np.int32))
        self._docs.append(np.asarray(docs, np.int32))
        self._counts.append(np.asarray(counts, np.float32))
        self._lengths.append(np.asarray(lengths, np.float32))
        self.count += len(documents)

    def finish(self, folder: Path) -> Postings:
        """Compute the weights, write the arrays and the vocabulary into `folder`, and open them."""
        folder.mkdir(parents=True, exist_ok=True)
        terms = _joined(self._terms, np.int32)
        docs = _joined(self._docs, np.int32)
        counts = _joined(self._counts, np.float32)
        lengths = _joined(self._lengths, np.float32)
        self._terms, self._docs, self._counts = [], [], []
        order = np.argsort(terms, kind="stable")
        terms, docs, counts = terms[order], docs[order], counts[order]
        frequency = np.bincount(terms, minlength=len(self.vocab)).astype(np.float64)
        idf = np.log(1.0 + (self.count - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        mean_length = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        norm = K1 * (1.0 - B + B * lengths[docs] / mean_length)
        weights = (idf[terms] * counts / (counts + norm)).astype(np.float32)
        indptr = np.concatenate([[0], np.cumsum(frequency)]).astype(np.int64)
        for name, array in zip(_FILES, (indptr, docs, weights, lengths)):
            np.save(folder / f"{name}.npy", array)
        (folder / "vocab.json").write_text(json.dumps(self.vocab), encoding="utf-8")
        return Postings.load(folder)


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


class Postings:
    """BM25 postings of `count` documents, memory-mapped."""

    def __init__(self, vocab: dict[str, int], indptr: np.ndarray, docs: np.ndarray, weights: np.ndarray, lengths: np.ndarray):
        self.vocab = vocab
        self.indptr = indptr
        self.docs = docs
        self.weights = weights
        self.count = len(lengths)
        self.mean_length = float(lengths.mean()) if self.count and lengths.mean() > 0 else 1.0

    @classmethod
    def load(cls, folder: Path) -> Postings:
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _FILES}
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls(vocab, arrays["indptr"], arrays["docs"], arrays["weights"], arrays["lengths"])

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """The BM25 score of every document for a tokenised query (each distinct term once); zeros
        when no term is known."""
        rows = sorted({self.vocab[token] for token in tokens if token in self.vocab})
        if not rows or not self.count:
            return np.zeros(self.count, np.float32)
        spans = [(int(self.indptr[row]), int(self.indptr[row + 1])) for row in rows]
        docs = np.concatenate([self.docs[a:b] for a, b in spans])
        weights = np.concatenate([self.weights[a:b] for a, b in spans])
        return np.bincount(docs, weights=weights, minlength=self.count).astype(np.float32)

    def idf(self, term: str) -> float:
        """The term's inverse document frequency in this corpus (that of a term it never saw when unknown)."""
        row = self.vocab.get(term)
        frequency = 0 if row is None else int(self.indptr[row + 1] - self.indptr[row])
        return math.log(1.0 + (self.count - frequency + 0.5) / (frequency + 0.5))

    def score_outside(self, tokens: Sequence[str], documents: Sequence[Sequence[str]]) -> np.ndarray:
        """BM25 scores of documents that are not in the corpus, as if they were (its idf and mean length):
        a video changed since the index was built scores on the same scale as the index."""
        idf = {term: self.idf(term) for term in set(tokens)}
        scores = np.zeros(len(documents), np.float32)
        for i, document in enumerate(documents):
            counts = Counter(token for token in document if token in idf)
            if counts:
                norm = K1 * (1.0 - B + B * len(document) / self.mean_length)
                scores[i] = sum(idf[term] * count / (count + norm) for term, count in counts.items())
        return scores
