"""Episodic memory: adding, listing by time and scale, `until`, hybrid search, readers during ingest."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from memory.episodic import EpisodicMemory, SegmentDraft
from memory.store import Library
from tests.memory.catalogue import add_video, sentence_embedder

CAPTIONS = [
    "A chef chops onions and garlic on a wooden board in a small kitchen.",
    "Two players pass a football across a muddy field while it rains.",
    "A woman types on a laptop in an office; the screen shows a spreadsheet.",
    "On screen: VAULT CODE 4172. A guard unlocks a steel door.",
    "A dog catches a frisbee on a sunny beach near the waves.",
    "An astronaut floats inside the space station and waves at the camera.",
]


def drafts(scale: float = 10.0, captions=CAPTIONS, offset: float = 0.0) -> list[SegmentDraft]:
    return [
        SegmentDraft(
            scale=scale,
            start=offset + i * scale,
            end=offset + (i + 1) * scale,
            caption=caption,
            ocr_text="VAULT CODE 4172" if "4172" in caption else "",
            speech_text="",
            objects=("person",),
            keyframes=(i * 10, i * 10 + 5),
        )
        for i, caption in enumerate(captions)
    ]


@pytest.fixture
def lexical(home: Path) -> tuple[EpisodicMemory, str]:
    """Episodic memory without a text embedder: BM25 only, which needs no model."""
    library = Library(home)
    return EpisodicMemory(library, None), add_video(library)


def test_add_list_scales_and_until(lexical) -> None:
    memory, video = lexical
    with memory.library.transaction() as conn:
        base = memory.add(conn, video, drafts())
        coarse = memory.add(
            conn, video, [SegmentDraft(30.0, 0.0, 30.0, "first half"), SegmentDraft(30.0, 30.0, 60.0, "second half")]
        )
    assert [s.start for s in base] == [0, 10, 20, 30, 40, 50] and base[3].keyframes == (30, 35)
    assert base[0].objects == ("person",) and base[0].video == video
    assert memory.scales(video) == [10.0, 30.0]
    assert memory.segments(video, scale=10.0) == base
    assert [s.scale for s in memory.segments(video)][:3] == [10.0, 30.0, 10.0]  # time order, across scales
    assert memory.segments(video, scale=30) == coarse
    assert [s.start for s in memory.segments(video, scale=10, start=15, end=30)] == [10, 20, 30]
    assert [s.start for s in memory.segments(video, scale=10, start=20, end=20)] == [20]
    assert [(s.start, s.end) for s in memory.segments(video, until=30)] == [(0, 10), (0, 30), (10, 20), (20, 30)]
    assert memory.segments("ffffffffffffffff") == [] and memory.scales("ffffffffffffffff") == []
    assert memory.embeddings(video, [base[0].id]).shape == (1, 0)  # no embedder, no vectors


def test_add_is_idempotent_and_updates_in_place(lexical) -> None:
    memory, video = lexical
    with memory.library.transaction() as conn:
        first = memory.add(conn, video, drafts())
    with memory.library.transaction() as conn:
        again = memory.add(conn, video, drafts())
    assert again == first
    assert memory.library.revision(memory.library.connect(), video, "episodic") == 1  # nothing changed: no new revision

    changed = drafts()
    changed[2] = SegmentDraft(10.0, 20.0, 30.0, "A woman reads a letter by the window.")
    with memory.library.transaction() as conn:
        updated = memory.add(conn, video, [changed[2], changed[2]])
    assert updated[0].id == first[2].id and updated[0].caption.startswith("A woman reads")
    assert len(memory.segments(video)) == 6


def test_lexical_search_finds_a_digit_string_and_honours_until(lexical) -> None:
    memory, video = lexical
    with memory.library.transaction() as conn:
        memory.add(conn, video, drafts())
    hits = memory.search(video, "what was the code, 4172?", k=3)
    assert hits[0].segment.start == 30.0 and hits[0].lexical == 1.0
    assert memory.search(video, "4172", until=30.0)[0].lexical == 0.0  # that segment ends at 40
    assert all(hit.segment.end <= 30.0 for hit in memory.search(video, "4172", until=30.0, k=10))
    assert memory.search(video, "4172", scale=30.0) == []


def test_readers_see_each_commit_and_nothing_uncommitted(lexical) -> None:
    memory, video = lexical
    reader = EpisodicMemory(memory.library, None)  # e.g. the web app, while ingest runs
    with memory.library.transaction() as conn:
        memory.add(conn, video, drafts()[:3])
    assert [h.segment.start for h in reader.search(video, "dog frisbee beach")] == [0, 10, 20]  # nothing matches yet

    counted: list[int] = []
    written, checked = threading.Event(), threading.Event()

    def read_in_another_thread() -> None:
        written.wait()
        counted.append(len(reader.search(video, "dog frisbee beach", k=10)))
        checked.set()

    thread = threading.Thread(target=read_in_another_thread)
    thread.start()
    with memory.library.transaction() as conn:
        memory.add(conn, video, drafts()[3:])
        assert len(memory.search(video, "dog", k=10)) == 6  # the writer sees its own batch
        written.set()
        checked.wait(10)
    thread.join()
    assert counted == [3]
    assert reader.search(video, "dog frisbee beach")[0].segment.start == 40.0


@pytest.mark.slow
def test_paraphrase_ranks_the_right_segment_first(home: Path) -> None:
    library = Library(home)
    memory, video = EpisodicMemory(library, sentence_embedder()), add_video(library)
    with library.transaction() as conn:
        memory.add(conn, video, drafts())
        memory.add(conn, video, drafts(60.0, ["Cooking and sport.", "Office work, a vault code and a beach."]))
    for query, start in [
        ("someone is preparing vegetables for a meal", 0.0),
        ("a soccer match in bad weather", 10.0),
        ("a pet playing by the sea", 40.0),
        ("a man in orbit in zero gravity", 50.0),
    ]:
        hit = memory.search(video, query, scale=10, k=3)[0]
        assert hit.segment.start == start, (query, hit)
        assert hit.dense > 0.3
    code = memory.search(video, "the number 4172", scale=10)[0]
    assert code.segment.start == 30.0 and code.lexical == 1.0
    across = memory.search(video, "pet on the beach", k=8)
    assert {hit.segment.scale for hit in across} == {10.0, 60.0}
    assert across == sorted(across, key=lambda hit: -hit.score)

    beach = memory.segments(video, scale=10)[4]
    vectors = memory.embeddings(video, [beach.id, -1])
    assert vectors.shape == (2, 384) and not vectors[1].any()
    assert vectors[0] @ sentence_embedder().embed([beach.text])[0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_motion_sentences_are_found_by_their_words_and_left_out_of_the_vector(home: Path) -> None:
    """Two segments alike but for what moved share a vector (motion is answered from the timeline, and its
    sentences in every busy span would pull unlike segments together); the words still find the busy one."""
    library = Library(home)
    memory, video = EpisodicMemory(library, sentence_embedder()), add_video(library)
    moving = CAPTIONS[0] + " Activity: a red region (12% of the frame) comes in from the left at 0:12.5 and stays 9 s."
    with library.transaction() as conn:
        quiet, busy = memory.add(conn, video, drafts(captions=[CAPTIONS[0], moving]))
    vectors = memory.embeddings(video, [quiet.id, busy.id])
    assert vectors[0] @ vectors[1] == pytest.approx(1.0, abs=1e-5)
    hit = memory.search(video, "red region comes in from the left", scale=10, k=1)[0]
    assert hit.segment.id == busy.id and hit.lexical == 1.0


@pytest.mark.slow
def test_a_parent_stands_for_all_of_its_children_not_the_start_of_its_text(home: Path) -> None:
    """A parent's vector is the mean of its children's: what is said at the end of a long stretch
    finds it, where the parent's own text, cut at the encoder's 256 tokens, never gets there."""
    library = Library(home)
    embedder = sentence_embedder()
    memory, video = EpisodicMemory(library, embedder), add_video(library)
    filler = " ".join(["The committee reviews the quarterly budget figures line by line."] * 30)
    children = drafts(captions=[filler, CAPTIONS[4]])
    text = " ".join(child.caption for child in children)
    parent = SegmentDraft(scale=20.0, start=0.0, end=20.0, caption=text, ocr_text="", speech_text="", objects=(), keyframes=())
    with library.transaction() as conn:
        stored = memory.add(conn, video, [parent, *children])  # children first or not, the parent finds them stored
    vectors = memory.embeddings(video, [segment.id for segment in stored])
    mean = vectors[1:].mean(axis=0)
    np.testing.assert_allclose(vectors[0], mean / np.linalg.norm(mean), atol=1e-6)
    query = embedder.embed(["a dog playing on the beach"])[0]
    assert vectors[0] @ query > 0.3 > embedder.embed([text])[0] @ query
