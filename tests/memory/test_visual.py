"""Visual memory: exact and approximate search, `until`, incremental growth, the saved index."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from memory.store import Library
from memory.visual import INDEX_FILE, EmbeddingSpaceError, VisualMemory
from tests.memory.catalogue import add_video


def clustered(count: int, dim: int = 32, clusters: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors in tight clusters, the way frames of one shot sit together."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vectors = centres[rng.integers(0, clusters, count)] + 0.15 * rng.normal(size=(count, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def fill(memory: VisualMemory, video: str, vectors: np.ndarray, first: int = 0, name: str = "pixel") -> None:
    """Frames first.. at 2 fps, as one committed batch."""
    indices = range(first, first + len(vectors))
    with memory.library.transaction() as conn:
        memory.add(conn, video, list(indices), [i / 2 for i in indices], vectors, name)


@pytest.fixture
def library(home: Path) -> Library:
    return Library(home)


def test_search_finds_the_frame_and_honours_until(library: Library) -> None:
    memory, video = VisualMemory(library), add_video(library)
    vectors = clustered(400)
    fill(memory, video, vectors)
    [hit] = memory.search(video, vectors[123] * 3.0, k=1)  # scale does not matter: cosine
    assert (hit.video, hit.index, hit.time) == (video, 123, 61.5) and hit.score == pytest.approx(1.0, abs=1e-5)

    early = memory.search(video, vectors[300], k=5, until=100.0)
    assert len(early) == 5 and all(h.time <= 100.0 for h in early) and 300 not in [h.index for h in early]
    assert memory.search(video, vectors[0], until=-1.0) == []
    assert len(memory.search(video, vectors[0], k=1000)) == 400
    assert memory.search("ffffffffffffffff", vectors[0]) == []

    times, embeddings = memory.vectors(video, until=10.0)
    assert times.tolist() == [i / 2 for i in range(21)] and np.allclose(embeddings, vectors[:21], atol=1e-6)


def test_new_commits_extend_the_cached_index(library: Library) -> None:
    memory, video = VisualMemory(library), add_video(library)
    vectors = clustered(300)
    fill(memory, video, vectors[:200])
    assert memory.search(video, vectors[250], k=1)[0].index != 250
    fill(memory, video, vectors[200:], first=200)
    fill(memory, video, vectors[:10] * -1, first=0)  # frames already stored are kept as they were
    assert memory.search(video, vectors[250], k=1)[0].index == 250
    assert memory.search(video, vectors[5], k=1)[0].score == pytest.approx(1.0, abs=1e-5)
    fresh = VisualMemory(library)
    for probe in vectors[::37]:
        assert memory.search(video, probe, k=3) == fresh.search(video, probe, k=3)


def test_exact_and_approximate_agree_on_the_top_hit(library: Library) -> None:
    video = add_video(library)
    vectors = clustered(3000, dim=48, clusters=60, seed=1)
    exact, approximate = VisualMemory(library), VisualMemory(library, exact_limit=1000)
    fill(exact, video, vectors)
    rng = np.random.default_rng(2)
    probes = vectors[rng.integers(0, len(vectors), 50)] + 0.05 * rng.normal(size=(50, 48)).astype(np.float32)
    for probe in probes:
        assert approximate.search(video, probe, k=1)[0].index == exact.search(video, probe, k=1)[0].index
    near_the_end = approximate.search(video, vectors[2900], k=3, until=1000.0)
    assert near_the_end and all(h.time <= 1000.0 for h in near_the_end)

    approximate.save_index(video)
    saved = faiss.read_index(str(library.video_dir(video) / INDEX_FILE))
    assert faiss.try_extract_index_ivf(saved) is not None and saved.ntotal == 3000


def test_saved_index_is_loaded_while_it_matches_the_catalogue(library: Library) -> None:
    memory, video = VisualMemory(library), add_video(library)
    vectors = clustered(100)
    fill(memory, video, vectors)
    memory.save_index(video)
    assert (library.video_dir(video) / INDEX_FILE).is_file()

    # Change a row behind the index's back: a new process that loads the saved index does not see it...
    changed = -vectors[7]
    with library.transaction() as conn:
        conn.execute("UPDATE visual_frames SET embedding = ? WHERE video = ? AND idx = 7", (changed.tobytes(), video))
    assert VisualMemory(library).search(video, changed, k=1)[0].index != 7
    # ...until the committed rows no longer match its size, and it is rebuilt from the catalogue.
    fill(memory, video, clustered(1, seed=9), first=100)
    assert VisualMemory(library).search(video, changed, k=1)[0].index == 7

    (library.video_dir(video) / INDEX_FILE).write_bytes(b"not a faiss index")
    assert VisualMemory(library).search(video, vectors[3], k=1)[0].index == 3


def test_one_embedding_space_per_video(library: Library) -> None:
    memory, video = VisualMemory(library), add_video(library)
    fill(memory, video, clustered(10))
    with pytest.raises(EmbeddingSpaceError, match="forget the video"):
        fill(memory, video, clustered(5, dim=16), first=10, name="pixel")
    with pytest.raises(EmbeddingSpaceError):
        fill(memory, video, clustered(5), first=10, name="open_clip:ViT-B-32")
    with pytest.raises(EmbeddingSpaceError, match="size 32"):
        memory.search(video, np.ones(512, np.float32))
    assert memory.space(video) == ("pixel", 32)
    with pytest.raises(ValueError):
        with library.transaction() as conn:
            memory.add(conn, video, [20, 21], [10.0], clustered(2), "pixel")


def test_forgetting_the_video_drops_its_frames(library: Library) -> None:
    memory, video = VisualMemory(library), add_video(library)
    vectors = clustered(20)
    fill(memory, video, vectors)
    memory.save_index(video)
    library.forget(video)
    assert memory.search(video, vectors[0]) == [] and memory.vectors(video)[0].size == 0
