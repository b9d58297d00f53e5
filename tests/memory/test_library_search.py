"""Search across the library: the right video and moment, timeline occurrences at their own times,
filters by video, date added and modality, videos changed since the index was built (new, edited,
forgotten) seen at once, rebuilds past the stale limit, one generation shared by every reader, and
the index's ranking equal to an exact one."""

from __future__ import annotations

import bm25s
import faiss
import numpy as np
import pytest

from memory import library_index
from memory.episodic import EpisodicMemory, SegmentDraft
from memory.hybrid import LEXICAL_WEIGHT, tokenize
from memory.library_docs import CatalogueVideos
from memory.library_index import Generation, _dense_index
from memory.library_search import LibrarySearch
from memory.postings import PostingsBuilder
from memory.store import Library
from memory.timeline import OccurrenceDraft, Timeline
from tests.memory.catalogue import sentence_embedder, video_record

TALKS = {
    "kitchen.mp4": ["A chef chops onions and garlic on a wooden board.", "The chef fries the onions in butter."],
    "match.mp4": ["Two players pass a football across a muddy field.", "The goalkeeper dives and saves a penalty."],
    "beach.mp4": ["A dog catches a frisbee on a sunny beach.", "Waves roll onto the sand at sunset."],
    "vault.mp4": ["A guard walks down a corridor.", "A guard unlocks a steel door."],
    "budget.mp4": ["The mayor opens the council meeting.", "Slides about the city budget for next year."],
}
SPEECH = {("budget.mp4", 1): "we will spend four million on the new bridge"}
SCREEN = {("vault.mp4", 1): "VAULT CODE 4172"}


def _video_id(i: int) -> str:
    return f"{i:016x}"


def _add(library: Library, episodic: EpisodicMemory, name: str, captions: list[str], i: int, created: float) -> str:
    video = _video_id(i)
    with library.transaction() as conn:
        library.upsert_video(conn, video_record(video, name, duration=10.0 * len(captions), created=created, status="ready"))
        episodic.add(
            conn,
            video,
            [
                SegmentDraft(
                    10.0,
                    10.0 * j,
                    10.0 * (j + 1),
                    caption,
                    ocr_text=SCREEN.get((name, j), ""),
                    speech_text=SPEECH.get((name, j), ""),
                    keyframes=(10 * j, 10 * j + 5, 10 * j + 9),
                )
                for j, caption in enumerate(captions)
            ]
            + [SegmentDraft(30.0, 0.0, 30.0, " ".join(captions))],
        )
    return video


@pytest.fixture
def shelf(home) -> tuple[Library, EpisodicMemory, dict[str, str]]:
    library = Library(home)
    episodic = EpisodicMemory(library, sentence_embedder())
    ids = {name: _add(library, episodic, name, captions, i, 1000.0 + 100 * i) for i, (name, captions) in enumerate(TALKS.items())}
    return library, episodic, ids


def test_finds_the_right_video_and_moment(shelf):
    library, episodic, ids = shelf
    search = LibrarySearch(library, episodic.embedder)
    best = search.search("a dog playing with a frisbee", k=3)[0]
    assert (best.video, best.name, best.start, best.end, best.keyframe) == (ids["beach.mp4"], "beach.mp4", 0.0, 10.0, 5)
    code = search.search("vault code 4172", k=1)[0]
    assert (code.name, code.start, code.modality, code.text) == ("vault.mp4", 10.0, "text", "VAULT CODE 4172")
    said = search.search("how much for the bridge", k=1)[0]
    assert (said.name, said.start, said.modality) == ("budget.mp4", 10.0, "speech") and "bridge" in said.text


def _occur(library: Library, episodic: EpisodicMemory, video: str, *drafts: OccurrenceDraft) -> None:
    with library.transaction() as conn:
        Timeline(library, episodic.embedder).add(conn, video, list(drafts))


def test_timeline_occurrences_are_moments_at_their_own_times(shelf):
    library, episodic, ids = shelf
    words = [[11.2, 11.6, "we"], [11.6, 12.0, "will"], [12.0, 14.1, "spend four million on the new bridge"]]
    _occur(
        library, episodic, ids["budget.mp4"], OccurrenceDraft("speech", 11.2, 14.1, SPEECH[("budget.mp4", 1)], {"words": words})
    )
    _occur(
        library, episodic, ids["kitchen.mp4"], OccurrenceDraft("subtitle", 12.5, 15.0, "Season the sauce with smoked paprika.")
    )
    search = LibrarySearch(library, episodic.embedder)
    search.fresh()
    cue = search.search("smoked paprika", k=1)[0]  # only the timeline holds subtitles
    assert (cue.name, cue.start, cue.end, cue.modality, cue.source, cue.keyframe) == (
        "kitchen.mp4", 12.5, 15.0, "subtitle", "occurrence", 15,
    )  # fmt: skip
    said = search.search("money for the new bridge", k=10)
    budget = [m for m in said if m.name == "budget.mp4"]
    assert (budget[0].start, budget[0].end, budget[0].modality) == (11.2, 14.1, "speech")
    assert all(m.end <= 11.2 or m.start >= 14.1 for m in budget[1:]), "the utterance and its segment are one moment"
    assert {m.modality for m in search.search("sauce", k=10, modalities=["subtitle"])} == {"subtitle"}
    _occur(library, episodic, ids["beach.mp4"], OccurrenceDraft("subtitle", 3.0, 6.0, "A retriever named Biscuit."))
    late = search.search("Biscuit", k=1)[0]  # a cue added after the build: the video's revision moved
    assert (late.name, late.start, late.modality) == ("beach.mp4", 3.0, "subtitle")


def test_filters_by_video_date_added_and_modality(shelf):
    library, episodic, ids = shelf
    search = LibrarySearch(library, episodic.embedder)
    only = search.search("a dog playing with a frisbee", k=10, videos={ids["kitchen.mp4"], ids["match.mp4"]})
    assert only and {m.name for m in only} <= {"kitchen.mp4", "match.mp4"}
    recent = search.search("guard", k=10, added_after=1250.0)
    assert recent and {m.name for m in recent} <= {"vault.mp4", "budget.mp4"}
    early = search.search("guard", k=10, added_before=1150.0)
    assert early and {m.name for m in early} <= {"kitchen.mp4", "match.mp4"}
    spoken = search.search("the city", k=10, modalities=["speech"])
    assert [(m.name, m.start, m.modality) for m in spoken] == [("budget.mp4", 10.0, "speech")]
    with pytest.raises(ValueError, match="unknown modality"):
        search.search("x", modalities=["smell"])


def test_changes_since_the_build_are_seen_at_once(shelf):
    library, episodic, ids = shelf
    search = LibrarySearch(library, episodic.embedder)
    built = search.fresh().folder
    late = _add(library, episodic, "harbour.mp4", ["A ferry leaves the harbour at dawn.", "Gulls circle the pier."], 9, 5000.0)
    assert search.search("a boat departs from the port", k=1)[0].video == late
    with library.transaction() as conn:  # an edit of an indexed video: the old words are gone, the new found
        episodic.add(conn, ids["beach.mp4"], [SegmentDraft(10.0, 0.0, 10.0, "A cat sleeps on a windowsill.")])
    assert all(m.start != 0.0 for m in search.search("frisbee", k=10) if m.name == "beach.mp4")
    assert (search.search("a sleeping cat", k=1)[0].name, search.search("a sleeping cat", k=1)[0].start) == ("beach.mp4", 0.0)
    library.forget(ids["kitchen.mp4"])
    assert "kitchen.mp4" not in {m.name for m in search.search("onions", k=10)}
    assert search.fresh().folder == built  # all of it without a rebuild


def test_the_catalogue_is_read_again_only_once_it_changed(shelf):
    library, episodic, ids = shelf
    videos = CatalogueVideos(library)
    first = videos()
    assert videos() is first and set(first) == set(ids.values())
    _add(library, episodic, "harbour.mp4", ["A ferry leaves the harbour."], 9, 5000.0)  # this thread's connection writes
    assert _video_id(9) in videos()
    elsewhere = Library(library.home)  # another connection (as another process) commits
    with elsewhere.transaction() as conn:
        episodic.add(conn, ids["beach.mp4"], [SegmentDraft(10.0, 0.0, 10.0, "A cat sleeps on a windowsill.")])
    assert videos()[ids["beach.mp4"]].revision == first[ids["beach.mp4"]].revision + 1


def test_a_changed_video_ranks_as_it_will_once_the_index_holds_it(shelf):
    library, episodic, _ = shelf
    search = LibrarySearch(library, episodic.embedder)
    search.fresh()
    _add(library, episodic, "harbour.mp4", ["A dog swims after a ball in the harbour.", "The budget for the pier."], 9, 5000.0)
    queries = ["a dog on the beach", "city budget", "a ball in the water", "guard and door"]
    before = [[(m.name, m.start, round(m.score, 3)) for m in search.search(q, k=3)] for q in queries]
    search.rebuild()
    after = [[(m.name, m.start, round(m.score, 3)) for m in search.search(q, k=3)] for q in queries]
    assert [[hit[:2] for hit in q] for q in before] == [[hit[:2] for hit in q] for q in after]
    assert np.allclose([h[2] for q in before for h in q], [h[2] for q in after for h in q], atol=0.05)


def test_past_the_stale_limit_the_index_is_rebuilt_and_shared(shelf):
    library, episodic, _ = shelf
    search = LibrarySearch(library, episodic.embedder, max_stale=1)
    first = search.fresh()
    for i, name in enumerate(["a.mp4", "b.mp4"], start=20):
        _add(library, episodic, name, [f"A lighthouse keeper number {i}."], i, 9000.0 + i)
    assert search.fresh().folder == first.folder  # too far behind: rebuilt in a child process, searched meanwhile
    assert {m.name for m in search.search("lighthouse", k=2)} == {"a.mp4", "b.mp4"}
    search.wait()
    rebuilt = search.fresh()
    assert rebuilt.folder != first.folder and not first.folder.exists() and len(rebuilt.videos) == 7
    other = LibrarySearch(library, sentence_embedder())
    assert other.fresh().folder == rebuilt.folder  # another reader opens it, builds nothing
    assert [(m.name, m.start) for m in other.search("lighthouse", k=2)] == [
        (m.name, m.start) for m in search.search("lighthouse", k=2)
    ]


def test_the_index_ranks_as_an_exact_hybrid_search_over_the_whole_library(shelf):
    library, episodic, _ = shelf
    search = LibrarySearch(library, episodic.embedder)
    generation = search.fresh()
    rows = (
        library.connect()
        .execute("SELECT s.id, s.caption, s.ocr_text, s.speech_text, s.embedding FROM segments s WHERE s.scale = 10.0")
        .fetchall()
    )
    texts = ["\n".join(p for p in (r["caption"], r["speech_text"], r["ocr_text"]) if p.strip()) for r in rows]
    matrix = np.stack([np.frombuffer(r["embedding"], np.float32) for r in rows])
    bm25 = bm25s.BM25()
    bm25.index([tokenize(t) for t in texts], show_progress=False)
    for query in ["onions in butter", "penalty save", "steel door code", "money for a bridge", "sunset waves"]:
        lexical = bm25.get_scores(sorted(set(tokenize(query))))
        lexical = lexical / lexical.max() if lexical.max() > 0 else lexical
        vector = sentence_embedder().embed([query])[0]
        fused = (1 - LEXICAL_WEIGHT) * np.clip(matrix @ vector, 0, None) + LEXICAL_WEIGHT * lexical
        exact = [rows[i]["id"] for i in np.argsort(-fused, kind="stable")[:3]]
        ranked = generation.rank(query, vector, 3)
        assert [int(generation.columns["ref"][r.position]) for r in ranked] == exact, query
        assert np.allclose([r.score for r in ranked], np.sort(fused)[::-1][:3], atol=1e-4)


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_each_kind_of_dense_index_finds_the_true_neighbours_and_keeps_to_the_mask(monkeypatch, tmp_path, kind):
    monkeypatch.setattr(library_index, "EXACT_BELOW", {"flat": 10**9, "ivf": 10}[kind])
    monkeypatch.setattr(library_index, "SUBSET_EXACT", 10)  # masks go through faiss's selector
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(40, 64))
    vectors = (centres[rng.integers(0, 40, 6000)] + 0.3 * rng.normal(size=(6000, 64))).astype(np.float32)
    faiss.normalize_L2(vectors)
    raw = tmp_path / "vectors.f32"
    vectors.tofile(raw)
    index = _dense_index(raw, len(vectors), 64)
    assert type(index).__name__ == {"flat": "IndexFlatIP", "ivf": "IndexIVFScalarQuantizer"}[kind]
    if isinstance(index, faiss.IndexIVF):
        index.make_direct_map()
    builder = PostingsBuilder()
    builder.add([[] for _ in vectors])
    columns = {"video": np.arange(6000, dtype=np.int32) % 3, "ref": np.arange(6000)}
    generation = Generation(tmp_path, [], columns, builder.finish(tmp_path / "p"), index)
    queries = vectors[rng.choice(6000, 20, replace=False)]
    recall = []
    for query in queries:
        exact = set(np.argsort(-(vectors @ query))[:10])
        recall.append(len(exact & {r.position for r in generation.rank("", query, 10)}) / 10)
        mask = columns["video"] == 1
        assert all(mask[r.position] for r in generation.rank("", query, 10, mask))
    assert np.mean(recall) >= 0.9
