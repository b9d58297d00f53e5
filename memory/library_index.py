"""One index over every video's documents (memory.library_docs): BM25 postings and a faiss index of
their text embeddings, written once into a folder ("a generation") and opened memory-mapped.

Sizes: up to EXACT_BELOW documents the vectors are kept exact and searched exhaustively (BLAS);
above, as 8-bit scalar-quantised codes (384 bytes a document rather than 1,536) in an inverted
file of 4 sqrt(N) lists, NPROBE of them searched. An exhaustive scan of 8-bit codes was tried
between the two and measured slower than either (36 ms for 36k documents on this machine, load
14). Document columns are .npy files read memory-mapped.

Ranking fuses as memory.hybrid does for one video (0.6 cosine + 0.4 BM25 over its best), so
scores mean the same here as in a video's own search. Candidates are the best documents of each
ranking, the dense one restricted by the caller's mask inside faiss (an IDSelectorBitmap); a
mask that keeps few documents (SUBSET_EXACT) has them all scored exactly from their codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from memory.hybrid import LEXICAL_WEIGHT, Ranked, tokenize
from memory.library_docs import Documents, VideoState, video_documents
from memory.postings import Postings, PostingsBuilder
from memory.store import Library

EXACT_BELOW = 50_000
NPROBE = 32
SUBSET_EXACT = 5_000
TRAIN_SAMPLE = 100_000
CANDIDATES = 50  # per ranking, at least; k * 5 when more are asked for
_COLUMNS = ("source", "ref", "video", "start", "end", "modality", "keyframe")


@dataclass
class Generation:
    """A built index: per-document columns, the videos it holds (at which revision), postings, vectors."""

    folder: Path
    videos: list[VideoState]  # position = the `video` column's value
    columns: dict[str, np.ndarray]
    postings: Postings
    dense: faiss.Index | None

    def __len__(self) -> int:
        return len(self.columns["ref"])

    @classmethod
    def open(cls, folder: Path) -> Generation:
        meta = json.loads((folder / "videos.json").read_text(encoding="utf-8"))
        columns = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _COLUMNS}
        dense = None
        if (folder / "dense.faiss").is_file():
            dense = faiss.read_index(str(folder / "dense.faiss"), faiss.IO_FLAG_MMAP)
            if isinstance(dense, faiss.IndexIVF):
                dense.make_direct_map()  # so candidates found by BM25 alone get their cosine too
        return cls(folder, [VideoState(**v) for v in meta], columns, Postings.load(folder / "postings"), dense)

    def rank(self, query: str, vector: np.ndarray | None, k: int, mask: np.ndarray | None = None) -> list[Ranked]:
        """The best `k` documents among those `mask` keeps (all by default), best first."""
        count = len(self)
        if not count or k <= 0 or (mask is not None and not mask.any()):
            return []
        wanted = max(CANDIDATES, 5 * k)
        lexical = self.postings.scores(tokenize(query))
        if mask is not None:
            lexical = np.where(mask, lexical, 0.0)
        best = float(lexical.max())
        lexical = lexical / best if best > 0 else lexical
        found = np.flatnonzero(lexical)
        candidates = found[np.argsort(-lexical[found], kind="stable")[:wanted]]
        if vector is not None and self.dense is not None:
            candidates = np.union1d(candidates, self._dense_candidates(vector, wanted, mask))
            dense = np.clip(self.dense.reconstruct_batch(candidates) @ vector, 0.0, None)
            score = (1.0 - LEXICAL_WEIGHT) * dense + LEXICAL_WEIGHT * lexical[candidates]
        else:
            dense = np.zeros(len(candidates), np.float32)
            score = lexical[candidates]
        order = np.argsort(-score, kind="stable")[:k]
        return [Ranked(int(candidates[i]), float(score[i]), float(dense[i]), float(lexical[candidates[i]])) for i in order]

    def _dense_candidates(self, vector: np.ndarray, wanted: int, mask: np.ndarray | None) -> np.ndarray:
        assert self.dense is not None
        if mask is not None and mask.sum() <= SUBSET_EXACT:
            kept = np.flatnonzero(mask)
            scores = self.dense.reconstruct_batch(kept) @ vector
            return kept[np.argsort(-scores, kind="stable")[:wanted]]
        params = None
        if mask is not None:
            packed = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(packed))
            ivf = isinstance(self.dense, faiss.IndexIVF)
            params = faiss.SearchParametersIVF(sel=selector, nprobe=NPROBE) if ivf else faiss.SearchParameters(sel=selector)
        elif isinstance(self.dense, faiss.IndexIVF):
            params = faiss.SearchParametersIVF(nprobe=NPROBE)
        _, ids = self.dense.search(vector[None, :].astype(np.float32), min(wanted, len(self)), params=params)
        return ids[0][ids[0] >= 0]


def build(
    library: Library, videos: list[VideoState], folder: Path, dim: int | None, progress: Callable[[int, int], None] | None = None
) -> Generation:
    """Write a generation of `videos` (in that order) into `folder` and open it. Each video is read in
    its own snapshot; its revision is the one that snapshot saw."""
    folder.mkdir(parents=True)
    postings = PostingsBuilder()
    parts: dict[str, list[np.ndarray]] = {name: [] for name in _COLUMNS}
    held: list[VideoState] = []
    raw = folder / "vectors.f32"
    with raw.open("wb") as vectors:
        for position, state in enumerate(videos):
            revision, docs = video_documents(library, state.id, dim)
            held.append(VideoState(state.id, state.name, state.created, revision))
            postings.add([tokenize(text) for text in docs.texts])
            _append(parts, docs, position)
            if docs.vectors is not None:
                vectors.write(np.ascontiguousarray(docs.vectors, np.float32).tobytes())
            if progress:
                progress(position + 1, len(videos))
    for name, chunks in parts.items():
        np.save(folder / f"{name}.npy", np.concatenate(chunks) if chunks else np.zeros(0, _DTYPES[name]))
    (folder / "videos.json").write_text(json.dumps([asdict(v) for v in held]), encoding="utf-8")
    postings.finish(folder / "postings")
    count = postings.count
    if dim is not None and count:
        faiss.write_index(_dense_index(np.memmap(raw, np.float32, "r", shape=(count, dim)), dim), str(folder / "dense.faiss"))
    raw.unlink()
    return Generation.open(folder)


_DTYPES = {
    "source": np.uint8,
    "ref": np.int64,
    "video": np.int32,
    "start": np.float64,
    "end": np.float64,
    "modality": np.uint8,
    "keyframe": np.int32,
}


def _append(parts: dict[str, list[np.ndarray]], docs: Documents, position: int) -> None:
    columns = {name: getattr(docs, name) for name in _COLUMNS if name != "video"}
    columns["video"] = np.full(len(docs), position, np.int32)
    for name, values in columns.items():
        parts[name].append(np.asarray(values, _DTYPES[name]))


def _dense_index(vectors: np.ndarray, dim: int) -> faiss.Index:
    """Exact below EXACT_BELOW vectors, 8-bit codes in inverted lists above."""
    count = len(vectors)
    if count < EXACT_BELOW:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.index_factory(dim, f"IVF{int(4 * np.sqrt(count))},SQ8", faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        sample = np.sort(np.random.default_rng(0).choice(count, min(count, TRAIN_SAMPLE), replace=False))
        index.train(np.ascontiguousarray(vectors[sample]))
    for start in range(0, count, 50_000):
        index.add(np.ascontiguousarray(vectors[start : start + 50_000]))
    return index
