"""One index over every video's documents (memory.library_docs): BM25 postings and a faiss index of
their text embeddings, written once into a folder ("a generation") and opened memory-mapped.

Sizes: up to EXACT_BELOW documents the vectors are kept exact and searched exhaustively (BLAS);
above, as 8-bit scalar-quantised codes (384 bytes a document rather than 1,536) in an inverted
file of 4 sqrt(N) lists, NPROBE of them searched. An exhaustive scan of 8-bit codes was tried
between the two and measured slower than either (36 ms for 36k documents on this machine, load
14). Document columns are .npy files read memory-mapped.

Ranking fuses as memory.hybrid does for one video (0.6 cosine + 0.4 BM25 over the best BM25), so
scores mean the same here as in a video's own search. Candidates are the best documents of each
ranking, the dense one restricted by the caller's mask inside faiss (an IDSelectorBitmap); a
mask that keeps few documents (SUBSET_EXACT) has them all scored exactly from their codes. The
raw scores of candidates are returned (`candidates`), so documents outside the index (a video
changed since the build, scored with the index's idf) can be fused on one scale with them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
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


@dataclass(frozen=True)
class Candidates:
    """Documents of one corpus worth ranking: positions, raw BM25, cosine (None without vectors)."""

    positions: np.ndarray
    lexical: np.ndarray
    dense: np.ndarray | None

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float32), None)


def best_lexical(*scores: np.ndarray) -> float:
    """The best raw BM25 among candidates of one or more corpora: the scale lexical scores are divided by."""
    return max((float(s.max()) for s in scores if len(s)), default=0.0)


def fused(lexical: np.ndarray, dense: np.ndarray | None, best: float) -> tuple[np.ndarray, np.ndarray]:
    """memory.hybrid's fusion: (1 - w) * max(cosine, 0) + w * bm25 / best, or the BM25 part alone without
    vectors; the fused score and the normalised BM25."""
    normalised = lexical / best if best > 0 else np.zeros_like(lexical)
    if dense is None:
        return normalised, normalised
    return (1.0 - LEXICAL_WEIGHT) * np.clip(dense, 0.0, None) + LEXICAL_WEIGHT * normalised, normalised


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

    def candidates(
        self, tokens: Sequence[str], vector: np.ndarray | None, wanted: int, mask: np.ndarray | None = None
    ) -> Candidates:
        """The `wanted` best documents by BM25 and the `wanted` nearest by embedding, among those `mask`
        keeps, with their raw BM25 and cosine scores."""
        if not len(self) or (mask is not None and not mask.any()):
            return Candidates.empty()
        lexical = self.postings.scores(tokens)
        if mask is not None:
            lexical = np.where(mask, lexical, 0.0)
        found = np.flatnonzero(lexical)
        positions = found[np.argsort(-lexical[found], kind="stable")[:wanted]]
        if vector is None or self.dense is None:
            return Candidates(positions, lexical[positions], None)
        positions = np.union1d(positions, self._dense_candidates(vector, wanted, mask))
        return Candidates(positions, lexical[positions], self.dense.reconstruct_batch(positions) @ vector)

    def rank(self, query: str, vector: np.ndarray | None, k: int, mask: np.ndarray | None = None) -> list[Ranked]:
        """The best `k` documents among those `mask` keeps (all by default), best first."""
        found = self.candidates(tokenize(query), vector, max(CANDIDATES, 5 * k), mask)
        score, lexical = fused(found.lexical, found.dense, best_lexical(found.lexical))
        dense = np.zeros(len(score)) if found.dense is None else np.clip(found.dense, 0.0, None)
        order = np.argsort(-score, kind="stable")[:k]
        return [Ranked(int(found.positions[i]), float(score[i]), float(dense[i]), float(lexical[i])) for i in order]

    def _dense_candidates(self, vector: np.ndarray, wanted: int, mask: np.ndarray | None) -> np.ndarray:
        assert self.dense is not None
        if mask is not None and mask.sum() <= SUBSET_EXACT:
            kept = np.flatnonzero(mask)
            scores = self.dense.reconstruct_batch(kept) @ vector
            return kept[np.argsort(-scores, kind="stable")[:wanted]]
        # Field by field: faiss's stubs omit the keyword constructor, which only sets these same fields.
        params: faiss.SearchParameters
        if isinstance(self.dense, faiss.IndexIVF):
            params = ivf = faiss.SearchParametersIVF()
            ivf.nprobe = NPROBE
        else:
            params = faiss.SearchParameters()
        packed = None  # the bitmap a selector reads: it must outlive the search
        if mask is not None:
            packed = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(packed))
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
        faiss.write_index(_dense_index(raw, count, dim), str(folder / "dense.faiss"))
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


def _dense_index(raw: Path, count: int, dim: int) -> faiss.Index:
    """Exact below EXACT_BELOW vectors, 8-bit codes in inverted lists above; the vectors are read from
    `raw` a chunk at a time (reading them whole, even memory-mapped, made a 1000 h build peak at 1.2 GB)."""
    if count < EXACT_BELOW:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.index_factory(dim, f"IVF{int(4 * np.sqrt(count))},SQ8", faiss.METRIC_INNER_PRODUCT)
        sample = np.sort(np.random.default_rng(0).choice(count, min(count, TRAIN_SAMPLE), replace=False))
        index.train(_rows(raw, dim, sample))
    for _, chunk in _chunks(raw, dim):
        index.add(chunk)
    return index


def _rows(raw: Path, dim: int, wanted: np.ndarray) -> np.ndarray:
    """The vectors at the sorted row numbers `wanted`, read chunk by chunk."""
    parts = []
    for at, chunk in _chunks(raw, dim):
        inside = wanted[(wanted >= at) & (wanted < at + len(chunk))]
        parts.append(chunk[inside - at])
    return np.concatenate(parts)


def _chunks(raw: Path, dim: int, rows: int = 50_000) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of the float32 vectors in `raw`, `rows` at a time."""
    with raw.open("rb") as handle:
        at = 0
        while len(chunk := np.fromfile(handle, np.float32, count=rows * dim)):
            yield at, chunk.reshape(-1, dim)
            at += len(chunk) // dim
