"""Semantic memory: entities and the facts stated about them, consolidated as a video goes on.

Consolidation of one candidate (subject, kind, relation, object, span, confidence, source,
segment) against what the video's memory already holds:

1. Entity resolution. The subject is looked up by normalised name (NFKC, casefolded,
   punctuation dropped, a leading article dropped), then among the aliases, then by
   cosine similarity of name embeddings >= `entity_threshold` among entities of the same
   kind whose names hold the same numbers ("Room 12" never becomes "Room 13"). A match by
   embedding is a MERGE: the candidate's name becomes an alias of the entity. No match
   creates a new entity.
2. Fact placement. Facts of that entity with the same relation whose object is the same
   (equal normalised text, or object embeddings >= `object_threshold` with the same
   numbers) are "equal". An equal fact already linked to the candidate's segment: NOOP.
   An equal fact whose span touches or overlaps the candidate's (within
   `touch_seconds`): UPDATE, which links the new segment, so the span grows to cover it
   and the confidence rises. Otherwise ADD a new fact.

`consolidate` returns one (op, fact) per candidate; op is MERGE when the subject was merged
into an existing entity under a new alias (whatever became of the fact), else the fact's
ADD, UPDATE or NOOP.

Motion's candidates ("grey region enters: comes in from the left") carry no vectors: their names and
objects are set phrases from a small table, compared exactly, and found by their words; the timeline
answers motion from its runs. Their vectors were most of what consolidation embedded on a busy video.

Traceability: a fact's span, confidence and segments are not stored on the fact but
derived from its links (fact_segments: segment, span, confidence, source of each
sighting), so every fact can be traced to the moments it came from, and a question limited
to `until` sees each fact as it stood then: only the sightings that ended by `until`.
Confidence is the noisy-or of the sightings' confidences (1.0 once a user corrected it).
Entities likewise: first/last seen and count come from the links of their facts, so an
entity exists while at least one fact about it does. Deleting a video cascades to all.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from memory.episodic import Segment, segment_from_row
from memory.hybrid import HybridIndex, QueryVectors, committed_view, stack_vectors
from memory.lru import LruCache
from memory.store import Library
from perception.errors import LongshotError

MEMORY = "semantic"
SOURCES = ("ocr", "speech", "detector", "motion", "vlm", "user")
UNEMBEDDED = frozenset({"motion"})  # sources whose candidates and facts carry no vectors (see the module doc)
# all-MiniLM-L6-v2 cosines: "Barack Obama"/"President Obama" 0.93, "New York"/"New York City" 0.95,
# but "left door"/"right door" 0.89 and "Chapter One"/"Chapter Two" 0.88. A missed merge leaves
# two entities; a false one corrupts both, so the bar is high.
ENTITY_THRESHOLD = 0.9
OBJECT_THRESHOLD = 0.96  # near-identical statements only: a re-transcribed sentence, OCR noise
TOUCH_SECONDS = 1.0
_ARTICLE = re.compile(r"^(the|a|an) ")
_NUMBER = re.compile(r"\d+")


class FactNotFoundError(LongshotError):
    """No fact with that id: it was deleted, or its video was forgotten."""


@dataclass(frozen=True)
class Entity:
    id: int
    video: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    first_seen: float
    last_seen: float
    count: int  # segments it was seen in


@dataclass(frozen=True)
class Fact:
    id: int
    video: str
    subject: str  # entity name
    subject_id: int
    relation: str
    object: str
    start: float
    end: float
    confidence: float
    source: str  # "ocr" | "speech" | "detector" | "motion" | "vlm" | "user"
    segments: tuple[int, ...]  # segment ids, in time order

    @property
    def text(self) -> str:
        return f"{self.subject} {self.relation} {self.object}"


@dataclass(frozen=True)
class Candidate:
    """Something one segment's evidence states; consolidation decides what it becomes."""

    subject: str
    kind: str
    relation: str
    object: str
    start: float
    end: float
    confidence: float
    source: str
    segment_id: int


def normalise(text: str) -> str:
    """Text as compared: NFKC, casefolded, words of letters and digits only, no leading article."""
    words = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return _ARTICLE.sub("", words)


def _relation(text: str) -> str:
    return " ".join(text.split()).lower()


def _vector_text(candidate: Candidate) -> str:
    """What the vector of the fact a candidate adds is of, when its subject keeps its own name."""
    return _embedded_text(candidate.subject.strip(), _relation(candidate.relation), candidate.object.strip())


def _embedded_text(subject: str, relation: str, object: str) -> str:
    """What a fact's vector is of: its object alone where that already says its subject (a keyphrase and
    the sentence it came from, a line read and its name), so that the facts of one sentence share the
    sentence's vector, embedded once; otherwise "subject relation object", its `Fact.text`."""
    return object if f" {normalise(subject)} " in f" {normalise(object)} " else f"{subject} {relation} {object}"


def _numbers(text: str) -> list[str]:
    return _NUMBER.findall(text)


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, np.float32)


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row a plain INSERT just wrote (sqlite3 leaves lastrowid None only when none was)."""
    row_id = cursor.lastrowid
    assert row_id is not None, "an INSERT wrote no row"
    return row_id


@dataclass(frozen=True)
class _Search:
    """The committed facts of a video ordered by when they first became visible, ready to search."""

    revision: int
    facts: list[Fact]
    visible_from: np.ndarray  # end of each fact's earliest sighting
    index: HybridIndex


class SemanticMemory:
    """Entities and facts per video, with consolidation, search, tracing and correction."""

    def __init__(
        self,
        library: Library,
        embedder,
        entity_threshold: float = ENTITY_THRESHOLD,
        object_threshold: float = OBJECT_THRESHOLD,
        touch_seconds: float = TOUCH_SECONDS,
    ):
        self.library = library
        self.embedder = embedder  # .embed(texts) -> (N, d) float32 unit rows, or None: names and text only
        self.entity_threshold = entity_threshold
        self.object_threshold = object_threshold
        self.touch_seconds = touch_seconds
        self._searches: LruCache[str, _Search] = LruCache(16)
        self._query_vector = QueryVectors(embedder)

    # -- consolidation ----------------------------------------------------------------------

    def consolidate(self, conn: sqlite3.Connection, video: str, candidates: Sequence[Candidate]) -> list[tuple[str, Fact]]:
        """Fold candidates into the memory inside the caller's transaction (rules in the module doc)."""
        for candidate in candidates:
            if candidate.source not in SOURCES:
                raise ValueError(f"candidate source {candidate.source!r} is not one of {SOURCES}")
            if not normalise(candidate.subject) or not candidate.relation.strip() or not normalise(candidate.object):
                raise ValueError(f"candidate needs a subject, a relation and an object: {candidate}")
        # one embedder call for names, objects and the fact texts that ADD will most likely need
        embedded = [c for c in candidates if c.source not in UNEMBEDDED]
        vectors = self._embed_map(
            [c.subject for c in embedded] + [c.object for c in embedded] + [_vector_text(c) for c in embedded]
        )
        placed: list[tuple[str, int]] = []
        added: list[int] = []
        for candidate in candidates:
            own = {} if candidate.source in UNEMBEDDED else vectors
            entity, merged = self._resolve(conn, video, candidate, own.get(candidate.subject))
            op, fact = self._place(conn, video, entity, candidate, own.get(candidate.object))
            placed.append(("MERGE" if merged else op, fact))
            if op == "ADD":
                added.append(fact)
        self._embed_facts(conn, added, vectors)
        if any(op != "NOOP" for op, _ in placed):
            self.library.bump(conn, video, MEMORY)
        views = {fact.id: fact for fact in self._facts_by_id(conn, [fact for _, fact in placed])}
        return [(op, views[fact]) for op, fact in placed]

    def _resolve(self, conn: sqlite3.Connection, video: str, candidate: Candidate, vector: np.ndarray | None) -> tuple[int, bool]:
        """The entity a candidate's subject names, and whether it was merged under a new alias."""
        known = self._entity_named(conn, video, candidate.subject)
        if known is not None:
            return known, False
        similar = self._similar_entity(conn, video, candidate, vector)
        if similar is not None:
            conn.execute(
                "INSERT INTO entity_aliases(entity, video, alias, norm, seen) VALUES (?, ?, ?, ?, ?)",
                (similar, video, candidate.subject.strip(), normalise(candidate.subject), candidate.end),
            )
            return similar, True
        return self._new_entity(conn, video, candidate.subject, candidate.kind, vector), False

    def _similar_entity(
        self, conn: sqlite3.Connection, video: str, candidate: Candidate, vector: np.ndarray | None
    ) -> int | None:
        if vector is None:
            return None
        best, best_score = None, self.entity_threshold
        numbers = _numbers(candidate.subject)
        rows = conn.execute(
            "SELECT id, name, embedding FROM entities WHERE video = ? AND kind = ? AND embedding IS NOT NULL",
            (video, candidate.kind.strip().lower()),
        )
        for row in rows:
            other = _vector(row["embedding"])
            if other.shape != vector.shape or _numbers(row["name"]) != numbers:
                continue
            score = float(other @ vector)
            if score >= best_score:
                best, best_score = row["id"], score
        return best

    def _new_entity(self, conn: sqlite3.Connection, video: str, name: str, kind: str, vector: np.ndarray | None) -> int:
        return _inserted_id(
            conn.execute(
                "INSERT INTO entities(video, name, norm, kind, embedding) VALUES (?, ?, ?, ?, ?)",
                (video, name.strip(), normalise(name), kind.strip().lower(), None if vector is None else vector.tobytes()),
            )
        )

    def _place(
        self, conn: sqlite3.Connection, video: str, entity: int, candidate: Candidate, object_vector: np.ndarray | None
    ) -> tuple[str, int]:
        """ADD, UPDATE or NOOP for the candidate's fact about `entity`, and the fact's id."""
        norm = normalise(candidate.object)
        touching = None
        for fact in self._equal_facts(conn, video, entity, candidate, norm, object_vector):
            if fact["linked"]:
                return "NOOP", fact["id"]
            gap = max(fact["start"] - candidate.end, candidate.start - fact["end"])
            if touching is None and gap <= self.touch_seconds:
                touching = fact["id"]
        if touching is not None:
            self._link(conn, touching, candidate)
            return "UPDATE", touching
        fact_id = _inserted_id(
            conn.execute(
                "INSERT INTO facts(video, entity, relation, object, object_norm, source, object_embedding) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    video,
                    entity,
                    _relation(candidate.relation),
                    candidate.object.strip(),
                    norm,
                    candidate.source,
                    None if object_vector is None else object_vector.tobytes(),
                ),
            )
        )
        self._link(conn, fact_id, candidate)
        return "ADD", fact_id

    def _equal_facts(
        self, conn: sqlite3.Connection, video: str, entity: int, candidate: Candidate, norm: str, vector: np.ndarray | None
    ) -> Iterable[sqlite3.Row]:
        rows = conn.execute(
            'SELECT f.id, f.object, f.object_norm, f.object_embedding, MIN(l.start) AS start, MAX(l."end") AS "end", '
            "MAX(l.segment = ?) AS linked FROM facts f JOIN fact_segments l ON l.fact = f.id "
            "WHERE f.video = ? AND f.entity = ? AND f.relation = ? GROUP BY f.id ORDER BY f.id",
            (candidate.segment_id, video, entity, _relation(candidate.relation)),
        )
        numbers = _numbers(candidate.object)
        for row in rows:
            if row["object_norm"] == norm:
                yield row
            elif vector is not None and row["object_embedding"] is not None and _numbers(row["object"]) == numbers:
                other = _vector(row["object_embedding"])
                if other.shape == vector.shape and float(other @ vector) >= self.object_threshold:
                    yield row

    def _link(self, conn: sqlite3.Connection, fact: int, candidate: Candidate) -> None:
        conn.execute(
            'INSERT INTO fact_segments(fact, segment, start, "end", confidence, source) VALUES (?, ?, ?, ?, ?, ?)',
            (fact, candidate.segment_id, candidate.start, candidate.end, candidate.confidence, candidate.source),
        )

    def _embed_map(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        unique = list(dict.fromkeys(texts))
        if self.embedder is None or not unique:
            return {}
        return dict(zip(unique, np.asarray(self.embedder.embed(unique), np.float32)))

    def _embed_facts(self, conn: sqlite3.Connection, facts: Sequence[int], known: dict[str, np.ndarray] | None = None) -> None:
        """Store the embedding that search uses (of `_embedded_text`), reusing `known` ones."""
        if self.embedder is None or not facts:
            return
        views = [fact for fact in self._facts_by_id(conn, facts) if fact.source not in UNEMBEDDED]
        vectors = dict(known or {})
        texts = {fact.id: _embedded_text(fact.subject, fact.relation, fact.object) for fact in views}
        vectors.update(self._embed_map([text for text in texts.values() if text not in vectors]))
        conn.executemany("UPDATE facts SET embedding = ? WHERE id = ?", [(vectors[texts[f.id]].tobytes(), f.id) for f in views])

    # -- reading ----------------------------------------------------------------------------

    def entities(self, video: str, until: float | None = None) -> list[Entity]:
        """Entities with at least one fact, in order of first appearance."""
        conn = self.library.connect()
        limit, params = ('AND l."end" <= ?', [video, until]) if until is not None else ("", [video])
        rows = conn.execute(
            'SELECT e.id, e.name, e.kind, MIN(l.start) AS first, MAX(l."end") AS last, COUNT(DISTINCT l.segment) AS n '
            "FROM entities e JOIN facts f ON f.entity = e.id JOIN fact_segments l ON l.fact = f.id "
            f"WHERE e.video = ? {limit} GROUP BY e.id ORDER BY first, e.id",
            params,
        ).fetchall()
        aliases = defaultdict(list)
        alias_limit = "AND seen <= ?" if until is not None else ""
        for row in conn.execute(f"SELECT entity, alias FROM entity_aliases WHERE video = ? {alias_limit} ORDER BY seen", params):
            aliases[row["entity"]].append(row["alias"])
        return [
            Entity(r["id"], video, r["name"], r["kind"], tuple(aliases[r["id"]]), r["first"], r["last"], r["n"]) for r in rows
        ]

    def facts(self, video: str, subject: str | None = None, until: float | None = None) -> list[Fact]:
        """Facts in order of first sighting; `subject` by entity name or alias."""
        conn = self.library.connect()
        if subject is None:
            return self._facts(conn, "f.video = ?", [video], until)
        entity = self._entity_named(conn, video, subject)
        return [] if entity is None else self._facts(conn, "f.video = ? AND f.entity = ?", [video, entity], until)

    def search(self, video: str, query: str, k: int = 5, until: float | None = None) -> list[tuple[Fact, float]]:
        """The `k` facts most relevant to `query`: dense plus lexical over "subject relation object"."""
        search = committed_view(
            self.library, self._searches, video, video, MEMORY, lambda conn, revision: self._load_search(conn, video, revision)
        )
        visible = len(search.facts) if until is None else int(np.searchsorted(search.visible_from, until, side="right"))
        ranked = search.index.rank(query, self._query_vector(query), k, visible)
        hits = [(search.facts[r.position], r.score) for r in ranked]
        if until is None or not hits:
            return hits
        views = {fact.id: fact for fact in self._facts_by_id(self.library.connect(), [f.id for f, _ in hits], until)}
        # A fact merged away or forgotten since the index was read (an ingest or a forget in another thread)
        # is left out; the next revision's index has what replaced it.
        return [(views[fact.id], score) for fact, score in hits if fact.id in views]

    def trace(self, fact_id: int) -> tuple[Fact, list[Segment]]:
        """A fact and the base segments it was seen in, in time order."""
        conn = self.library.connect()
        fact = self._fact(conn, fact_id)
        rows = conn.execute(
            "SELECT s.* FROM fact_segments l JOIN segments s ON s.id = l.segment WHERE l.fact = ? ORDER BY s.start",
            (fact_id,),
        )
        return fact, [segment_from_row(row) for row in rows]

    # -- editing ----------------------------------------------------------------------------

    def correct(
        self, fact_id: int, *, object: str | None = None, relation: str | None = None, subject: str | None = None
    ) -> Fact:
        """Change what a fact says; it becomes the user's (confidence 1) and keeps its sightings."""
        if object is None and relation is None and subject is None:
            raise ValueError("correct() needs a new subject, relation or object")
        with self.library.transaction() as conn:
            row = conn.execute(
                "SELECT f.video, f.entity, f.relation, f.object, e.name, e.kind "
                "FROM facts f JOIN entities e ON e.id = f.entity WHERE f.id = ?",
                (fact_id,),
            ).fetchone()
            if row is None:
                raise FactNotFoundError(f"no fact {fact_id}; it may have been deleted")
            video, entity = row["video"], row["entity"]
            if subject is not None and normalise(subject) != normalise(row["name"]):
                entity = self._entity_named(conn, video, subject)
                if entity is None:
                    vector = self._embed_map([subject]).get(subject)
                    entity = self._new_entity(conn, video, subject, row["kind"], vector)
            new_object = row["object"] if object is None else object.strip()
            new_relation = row["relation"] if relation is None else _relation(relation)
            vector = self._embed_map([new_object]).get(new_object)
            conn.execute(
                "UPDATE facts SET entity = ?, relation = ?, object = ?, object_norm = ?, source = 'user', "
                "object_embedding = ? WHERE id = ?",
                (entity, new_relation, new_object, normalise(new_object), None if vector is None else vector.tobytes(), fact_id),
            )
            self._embed_facts(conn, [fact_id])
            self._drop_orphan(conn, row["entity"])
            self.library.bump(conn, video, MEMORY)
            return self._fact(conn, fact_id)

    def delete(self, fact_id: int) -> None:
        """Remove a fact and its links; an entity left with no fact goes too."""
        with self.library.transaction() as conn:
            row = conn.execute("SELECT video, entity FROM facts WHERE id = ?", (fact_id,)).fetchone()
            if row is None:
                raise FactNotFoundError(f"no fact {fact_id}; it may have been deleted already")
            conn.execute("DELETE FROM facts WHERE id = ?", (fact_id,))
            self._drop_orphan(conn, row["entity"])
            self.library.bump(conn, row["video"], MEMORY)

    def _drop_orphan(self, conn: sqlite3.Connection, entity: int) -> None:
        conn.execute("DELETE FROM entities WHERE id = ? AND NOT EXISTS (SELECT 1 FROM facts WHERE entity = ?)", (entity, entity))

    # -- views ------------------------------------------------------------------------------

    def _entity_named(self, conn: sqlite3.Connection, video: str, name: str) -> int | None:
        norm = normalise(name)
        row = conn.execute("SELECT id FROM entities WHERE video = ? AND norm = ?", (video, norm)).fetchone()
        row = row or conn.execute("SELECT entity FROM entity_aliases WHERE video = ? AND norm = ?", (video, norm)).fetchone()
        return row[0] if row else None

    def _facts_by_id(self, conn: sqlite3.Connection, ids: Sequence[int], until: float | None = None) -> list[Fact]:
        return self._facts(conn, f"f.id IN ({','.join('?' * len(ids))})", list(ids), until) if ids else []

    def _fact(self, conn: sqlite3.Connection, fact_id: int) -> Fact:
        found = self._facts(conn, "f.id = ?", [fact_id])
        if not found:
            raise FactNotFoundError(f"no fact {fact_id}; it may have been deleted")
        return found[0]

    def _facts(self, conn: sqlite3.Connection, where: str, params: list, until: float | None = None) -> list[Fact]:
        """Fact views derived from their sightings (only those ended by `until`, when given)."""
        limit = ""
        if until is not None:
            limit, params = 'AND l."end" <= ?', [*params, until]
        rows = conn.execute(
            "SELECT f.id, f.video, e.name, f.entity, f.relation, f.object, f.source, "
            'l.segment, l.start, l."end", l.confidence FROM facts f JOIN entities e ON e.id = f.entity '
            f"JOIN fact_segments l ON l.fact = f.id WHERE {where} {limit} ORDER BY f.id, l.start, l.segment",
            params,
        ).fetchall()
        sightings: dict[int, list[sqlite3.Row]] = defaultdict(list)
        for row in rows:
            sightings[row["id"]].append(row)
        facts = [self._view(group) for group in sightings.values()]
        return sorted(facts, key=lambda fact: (fact.start, fact.id))

    @staticmethod
    def _view(sightings: list[sqlite3.Row]) -> Fact:
        first = sightings[0]
        doubt = float(np.prod([1.0 - row["confidence"] for row in sightings]))
        return Fact(
            id=first["id"],
            video=first["video"],
            subject=first["name"],
            subject_id=first["entity"],
            relation=first["relation"],
            object=first["object"],
            start=min(row["start"] for row in sightings),
            end=max(row["end"] for row in sightings),
            confidence=1.0 if first["source"] == "user" else 1.0 - doubt,
            source=first["source"],
            segments=tuple(dict.fromkeys(row["segment"] for row in sightings)),
        )

    # -- search cache -----------------------------------------------------------------------

    def _load_search(self, conn: sqlite3.Connection, video: str, revision: int) -> _Search:
        facts = self._facts(conn, "f.video = ?", [video])
        visible_from = {
            row[0]: row[1]
            for row in conn.execute(
                'SELECT l.fact, MIN(l."end") FROM fact_segments l JOIN facts f ON f.id = l.fact '
                "WHERE f.video = ? GROUP BY l.fact",
                (video,),
            )
        }
        facts.sort(key=lambda fact: (visible_from[fact.id], fact.id))
        matrix = None
        if self.embedder is not None:
            blobs = dict(conn.execute("SELECT id, embedding FROM facts WHERE video = ?", (video,)).fetchall())
            matrix = stack_vectors([blobs.get(fact.id) for fact in facts], self.embedder.dim)
        ends = np.array([visible_from[fact.id] for fact in facts], np.float64)
        return _Search(revision, facts, ends, HybridIndex([fact.text for fact in facts], matrix))
