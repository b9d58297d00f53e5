"""Semantic memory: consolidation (ADD, UPDATE, MERGE, NOOP), `until` views, trace, correct, delete."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memory.episodic import EpisodicMemory, SegmentDraft
from memory.semantic import Candidate, FactNotFoundError, SemanticMemory
from memory.store import Library
from tests.memory.catalogue import add_video, sentence_embedder


def setup(home: Path, embedder) -> tuple[SemanticMemory, str, list[int]]:
    """A video with twelve 10 s base segments; returns the memory, the video and the segment ids."""
    library = Library(home)
    video = add_video(library)
    with library.transaction() as conn:
        segments = EpisodicMemory(library, None).add(
            conn, video, [SegmentDraft(10.0, 10.0 * i, 10.0 * (i + 1), f"segment {i}") for i in range(12)]
        )
    return SemanticMemory(library, embedder), video, [s.id for s in segments]


def seen(
    subject: str,
    relation: str,
    obj: str,
    segment: int,
    ids: list[int],
    kind: str = "text",
    source: str = "ocr",
    confidence: float = 0.5,
) -> Candidate:
    """A candidate from base segment number `segment` (spans [10*segment, 10*segment + 10])."""
    return Candidate(subject, kind, relation, obj, 10.0 * segment, 10.0 * segment + 10, confidence, source, ids[segment])


def consolidate(memory: SemanticMemory, video: str, *candidates: Candidate):
    with memory.library.transaction() as conn:
        return memory.consolidate(conn, video, candidates)


def test_add_update_noop_by_text_and_until_views(home: Path) -> None:
    memory, video, ids = setup(home, None)
    [(op, fact)] = consolidate(memory, video, seen("VAULT CODE 4172", "shown", "VAULT CODE 4172", 3, ids))
    assert op == "ADD" and (fact.start, fact.end, fact.confidence, fact.source) == (30, 40, 0.5, "ocr")

    ops = consolidate(
        memory,
        video,
        seen("vault code: 4172", "Shown", "vault code 4172!", 4, ids),  # same entity and fact after normalising
        seen("VAULT CODE 4172", "shown", "VAULT CODE 4172", 4, ids),  # that segment is already linked
        seen("VAULT CODE 4172", "shown", "VAULT CODE 4172", 9, ids),  # seen again after a gap: a new fact
    )
    assert [op for op, _ in ops] == ["UPDATE", "NOOP", "ADD"]
    updated = ops[0][1]
    assert updated.id == fact.id and (updated.start, updated.end) == (30, 50)
    assert updated.segments == (ids[3], ids[4]) and updated.confidence == pytest.approx(0.75)
    assert ops[2][1].id != fact.id

    [entity] = memory.entities(video)
    assert (entity.name, entity.first_seen, entity.last_seen, entity.count, entity.aliases) == ("VAULT CODE 4172", 30, 100, 3, ())
    assert [(f.start, f.end) for f in memory.facts(video)] == [(30, 50), (90, 100)]

    # as it stood at 45 s: one sighting, one fact, lower confidence
    [then] = memory.facts(video, until=45)
    assert (then.start, then.end, then.segments, then.confidence) == (30, 40, (ids[3],), 0.5)
    assert memory.entities(video, until=45)[0].count == 1
    assert memory.facts(video, until=35) == [] and memory.entities(video, until=35) == []
    assert memory.facts(video, subject="vault code 4172") == memory.facts(video)
    assert memory.facts(video, subject="nobody") == []


def test_consolidate_inside_a_failed_batch_leaves_nothing(home: Path) -> None:
    memory, video, ids = setup(home, None)
    with pytest.raises(RuntimeError):
        with memory.library.transaction() as conn:
            memory.consolidate(conn, video, [seen("EXIT", "shown", "EXIT", 0, ids)])
            raise RuntimeError("crash before commit")
    assert memory.facts(video) == [] and memory.entities(video) == []


def test_trace_correct_delete(home: Path) -> None:
    memory, video, ids = setup(home, None)
    ops = consolidate(
        memory,
        video,
        seen("Dr. Ada", "said", "the engine can compute Bernoulli numbers", 1, ids, kind="person", source="speech"),
        seen("Dr. Ada", "said", "the engine can compute Bernoulli numbers", 2, ids, kind="person", source="speech"),
        seen("Dr. Ada", "holds", "a punched card", 2, ids, kind="person", source="vlm"),
    )
    fact = ops[1][1]
    traced, segments = memory.trace(fact.id)
    assert traced == fact and [s.id for s in segments] == [ids[1], ids[2]] and segments[0].caption == "segment 1"

    corrected = memory.correct(fact.id, subject="Ada Lovelace", object="the Analytical Engine can compute Bernoulli numbers")
    assert (corrected.subject, corrected.source, corrected.confidence) == ("Ada Lovelace", "user", 1.0)
    assert corrected.segments == fact.segments and (corrected.start, corrected.end) == (10, 30)
    assert memory.facts(video, subject="Ada Lovelace") == [corrected]
    assert memory.search(video, "analytical engine")[0][0] == corrected
    assert {e.name for e in memory.entities(video)} == {"Dr. Ada", "Ada Lovelace"}  # Dr. Ada still holds a card

    holds = ops[2][1]
    assert memory.correct(holds.id, relation="Drops").relation == "drops"
    memory.delete(holds.id)
    assert [e.name for e in memory.entities(video)] == ["Ada Lovelace"]  # Dr. Ada had no fact left
    with pytest.raises(FactNotFoundError):
        memory.trace(holds.id)
    with pytest.raises(FactNotFoundError):
        memory.delete(holds.id)
    with pytest.raises(ValueError):
        memory.correct(fact.id)

    memory.library.forget(video)
    with pytest.raises(FactNotFoundError):
        memory.trace(fact.id)
    assert memory.library.connect().execute("SELECT COUNT(*) FROM fact_segments").fetchone()[0] == 0


def test_bad_candidates_are_refused(home: Path) -> None:
    memory, video, ids = setup(home, None)
    with pytest.raises(ValueError, match="source"):
        consolidate(memory, video, seen("EXIT", "shown", "EXIT", 0, ids, source="rumour"))
    with pytest.raises(ValueError, match="subject"):
        consolidate(memory, video, seen(" ... ", "shown", "EXIT", 0, ids))


@pytest.mark.slow
def test_consolidation_with_the_real_text_embedder(home: Path) -> None:
    memory, video, ids = setup(home, sentence_embedder())
    ops = consolidate(
        memory,
        video,
        seen("Barack Obama", "said", "We choose to go to the moon.", 0, ids, kind="person", source="speech"),
        seen("President Obama", "said", "We choose to go to the moon", 1, ids, kind="person", source="speech"),
        seen("president obama", "said", "We choose to go to the moon", 1, ids, kind="person", source="speech"),
        seen("Obama", "appears", "person", 5, ids, kind="place"),  # another kind: never merged by embedding
        seen("Room 12", "shown", "Room 12", 2, ids),
        seen("Room 13", "shown", "Room 13", 2, ids),  # similar names, other numbers: another entity
        seen("Barack Obama", "said", "Welcome to the lecture on thermodynamics.", 2, ids, kind="person", source="speech"),
        seen("Barack Obama", "said", "Welcome to the lecture on thermodynamic.", 3, ids, kind="person", source="speech"),
    )
    assert [op for op, _ in ops] == ["ADD", "MERGE", "NOOP", "ADD", "ADD", "ADD", "ADD", "UPDATE"]
    moon = ops[1][1]
    assert moon.id == ops[0][1].id and moon.subject == "Barack Obama" and (moon.start, moon.end) == (0, 20)
    assert ops[7][1].id == ops[6][1].id and ops[7][1].object == "Welcome to the lecture on thermodynamics."

    entities = {e.name: e for e in memory.entities(video)}
    assert set(entities) == {"Barack Obama", "Obama", "Room 12", "Room 13"}
    obama = entities["Barack Obama"]
    assert obama.aliases == ("President Obama",) and obama.count == 4 and (obama.first_seen, obama.last_seen) == (0, 40)
    assert memory.entities(video, until=15)[0].aliases == ()  # the alias was learnt at 20 s

    assert memory.search(video, "which president talked about landing on the moon?")[0][0].id == moon.id
    [(fact, _)] = memory.search(video, "Room 13", k=1)
    assert fact.subject == "Room 13"
    assert all(f.start < 10 for f, _ in memory.search(video, "moon", until=10))


@pytest.mark.slow
def test_motion_is_consolidated_by_its_words_and_carries_no_vectors(home: Path) -> None:
    """Motion's set phrases are compared exactly and found by their words; nothing of them is embedded."""
    memory, video, ids = setup(home, sentence_embedder())
    enters = "comes in from the left, moving right"
    ops = consolidate(
        memory,
        video,
        seen("grey region", "enters", enters, 1, ids, kind="activity", source="motion"),
        seen("grey region", "enters", enters, 2, ids, kind="activity", source="motion"),  # the same run, next segment
        seen("gray region", "enters", enters, 6, ids, kind="activity", source="motion"),  # no vector: not merged
        seen("grey region", "enters", "comes in from the left, moving left", 7, ids, kind="activity", source="motion"),
        seen("EXIT 4", "shown", "EXIT 4", 3, ids),
    )
    assert [op for op, _ in ops] == ["ADD", "UPDATE", "ADD", "ADD", "ADD"]
    with memory.library.transaction() as conn:
        vectors = dict(conn.execute("SELECT object, embedding IS NOT NULL FROM facts").fetchall())
        named = dict(conn.execute("SELECT name, embedding IS NOT NULL FROM entities").fetchall())
    assert vectors == {enters: 0, "comes in from the left, moving left": 0, "EXIT 4": 1}
    assert named == {"grey region": 0, "gray region": 0, "EXIT 4": 1}
    found = [fact.object for fact, _ in memory.search(video, "region comes in from the left moving right", k=2)]
    assert found[0] == enters


@pytest.mark.slow
def test_the_facts_of_one_sentence_share_its_vector(home: Path) -> None:
    """A keyphrase said in a sentence adds nothing to the sentence's meaning: its fact is embedded as the sentence,
    once for all its keyphrases. A subject the sentence does not say stays in its fact's vector."""
    memory, video, ids = setup(home, sentence_embedder())
    sentence = "The last train to Glasgow leaves from platform nine."
    said = [seen(phrase, "said", sentence, 2, ids, kind="topic", source="speech") for phrase in ("last train", "Glasgow")]
    consolidate(memory, video, *said, seen("Barack Obama", "said", sentence, 3, ids, kind="person", source="speech"))
    with memory.library.transaction() as conn:
        rows = conn.execute("SELECT e.name, f.embedding FROM facts f JOIN entities e ON e.id = f.entity").fetchall()
    vectors = {name: np.frombuffer(blob, np.float32) for name, blob in rows}
    alone = sentence_embedder().embed([sentence])[0]
    assert [vectors[phrase] @ alone for phrase in ("last train", "Glasgow")] == pytest.approx([1.0, 1.0], abs=1e-5)
    assert vectors["Barack Obama"] @ alone < 0.95
    [(fact, _)] = memory.search(video, "which platform does the Glasgow train leave from?", k=1)
    assert fact.object == sentence
