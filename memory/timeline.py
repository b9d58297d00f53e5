"""The event timeline: every occurrence of anything perceived, at its own times, beside the segments.

Segments say what a span of video holds; the timeline says when each thing happened: each
utterance (with its words' times), each run of frames showing the same on-screen text, each
scene change, detection run, caption and subtitle cue. Counting ("how many times"), durations
("how long"), order ("which first", "right after") and look-ups at a moment ("at minute 7")
are answered from it, at the occurrence's own times rather than a segment's.

An occurrence is (video, modality, start, end, text, data), where `data` holds what only its
modality has, plus a link to the base segment it starts in (the finest segment whose start is
at or before its start); the other segments it covers are those of its time range. It is
written inside the ingest batch's transaction and bumps the video's "timeline" revision, like
every memory. What ingest writes (memory/ingest/events.py):

    speech    an utterance, a sentence or clause   {"words": [[start, end, word], ...]}
    subtitle  a cue of the video's subtitles       {}
    text      a run of frames showing one text     {"box": [x0, y0, x1, y1]} as fractions of the frame, and how
                                                   it looks (memory/text_look.py): contrast, confidence, agreement
    scene     a scene change, an instant           {}                     text: "scene change"
    object    a detection run, whole segments      {"segments": n}        text: the label
    caption   a VLM's caption of a base segment    {"scale": seconds}     (offline ones restate the rest)
    activity  a moving region (perception.motion)  the record's data: where, share, direction, speed, colour...
    camera    the camera pans, tilts, zooms, shakes  {"motion": "pan left", "rate": ...}
    stillness nothing moved                        {"bounds": ...}        text: "no activity, 0:00-0:13"

Runs continue across batches: a draft that starts exactly where an occurrence of the same
modality and the same text ends (`same_text`) extends that occurrence instead of adding one.
A motion run continues by its records instead (perception.motion's `continues`: the same kind
of run, open at the earlier one's end and the later one's start, at the same sampled time), and
the two become one (`joined`), with the joined record's text and data. Motion's runs carry no
vector (`UNEMBEDDED`): their words are a small table's, found by word search, and questions about
motion read their data; embedding them cost more than the rest of motion's memory work.
Producers end a run that is still going at their span's end exactly there, and start one that
was already going at their span's start exactly there, so the next batch's commit joins them,
and a crash and resume writes the same rows as an uninterrupted run.

Reading, for callers (agent actions, the offline policy):

- `between(video, start, end)`: everything overlapping [start, end], in time order (an instant
  at either end counts). `at(video, t)` is `between(video, t, t)`.
- `search(video, query, k)`: hybrid dense + BM25 ranking (memory/hybrid.py), best first.
- `matching(video, query)`: every occurrence that matches well enough, in time order: for
  counting, first and last, and durations. "Well enough": within MATCH_RATIO of the best
  match's score, or the same text as the best match (an OCR misreading of the same notice);
  and never one that names only other numbers than the query ("gate B8" for "gate B7"). So
  a query about something the video never showed gets an empty list, not its nearest miss.

Every read takes optional `modalities` (a collection of MODALITIES) and `until`: what had
been perceived by then, so an occurrence that starts by `until` is seen, clipped to end there
(an utterance keeps only the words said by then). Searches also take `after` (only what
starts at or after it) and `before` (only what ends by it): an occurrence that straddles a
time is neither before nor after it.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from memory.hybrid import HybridIndex, QueryVectors, committed_view, stack_vectors
from memory.lru import LruCache
from memory.store import Library
from perception.motion import Activity, CameraMotion, Stillness, continues, joined

MEMORY = "timeline"
MODALITIES = ("speech", "subtitle", "text", "scene", "object", "caption", "activity", "camera", "stillness")
MOTION_RUNS: dict[str, type[Activity | CameraMotion | Stillness]] = {  # modality -> its record
    "activity": Activity,
    "camera": CameraMotion,
    "stillness": Stillness,
}
# no vector, found by words and by time: always the same words, or motion answered from its structured data
UNEMBEDDED = frozenset({"scene", "stillness", "activity", "camera"})
SAME_TEXT = 0.8  # character similarity at which two readings of one text are the same text
MATCH_RATIO = 0.75  # `matching` keeps occurrences scoring at least this share of the best one's score
MATCH_FLOOR = 0.2  # ...and at least this much: nothing matches a query that matches nothing
_JOIN = 1e-3  # seconds: a draft starting this close to an occurrence's end continues it
_COLUMNS = 'id, video, modality, start, "end", text, data, segment'
_CODE = re.compile(r"\w+(?:-\w+)*")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class OccurrenceDraft:
    """Something perceived, to be added: `data` must be JSON (numbers, strings, lists, dicts)."""

    modality: str
    start: float
    end: float
    text: str
    data: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"unknown modality {self.modality!r}; known: {', '.join(MODALITIES)}")
        if not 0 <= self.start <= self.end:
            raise ValueError(f"an occurrence needs 0 <= start <= end, got {self.start}-{self.end}")


@dataclass(frozen=True)
class Occurrence:
    """A stored occurrence; `segment` is the id of the base segment it starts in (None before any)."""

    id: int
    video: str
    modality: str
    start: float
    end: float
    text: str
    data: dict
    segment: int | None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class OccurrenceHit:
    """A search result: the occurrence, its fused score and the two scores fused."""

    occurrence: Occurrence
    score: float
    dense: float
    lexical: float


def same_text(a: str, b: str) -> bool:
    """Whether two readings say the same thing, allowing small recognition differences ("CL0SED"
    for "CLOSED") but never a different number or code ("GATE B7" is not "GATE B8", "N3-AE3" is
    not "T3-AE3", however alike the words around them)."""
    if _code_characters(a) != _code_characters(b):
        return False
    a, b = normalised(a), normalised(b)
    if a == b:
        return True
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= SAME_TEXT


def normalised(text: str) -> str:
    """Text as compared: NFKC, casefolded, its words only."""
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def codes(text: str) -> list[str]:
    """The codes of a text, whole and casefolded: its hyphen-joined words that carry a number ("b7",
    "4172", "n3-ae3"); a misread letter ("CL0SED") is not a number."""
    words = _CODE.findall(unicodedata.normalize("NFKC", text).casefold())
    return [word for word in words if numbers(word)]


def _code_characters(text: str) -> str:
    """What codes must agree on: their characters, however OCR spaced or hyphenated them ("N3 AE3" is "N3-AE3")."""
    return "".join(codes(text)).replace("-", "")


def numbers(text: str) -> list[str]:
    """The numbers of a text ("B7", "4172", "12"); digits between letters are a misread letter ("CL0SED", "R00M")."""
    return [m.group() for m in re.finditer(r"\d+", text) if not (_letter(text, m.start() - 1) and _letter(text, m.end()))]


def _letter(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isalpha()


def _seconds(value: float) -> float:
    return round(float(value), 3)


def _json(data: Mapping) -> str:
    return json.dumps(data, sort_keys=True, default=lambda value: value.item() if isinstance(value, np.generic) else str(value))


def occurrence_from_row(row: sqlite3.Row) -> Occurrence:
    return Occurrence(
        id=row["id"],
        video=row["video"],
        modality=row["modality"],
        start=row["start"],
        end=row["end"],
        text=row["text"],
        data=json.loads(row["data"]),
        segment=row["segment"],
    )


def as_of(occurrence: Occurrence, until: float | None) -> Occurrence:
    """The occurrence as it stood at `until`: ending there at the latest, with only the words said by then."""
    if until is None or occurrence.end <= until:
        return occurrence
    words = occurrence.data.get("words")
    if not words:
        return replace(occurrence, end=until)
    said = [word for word in words if word[0] <= until]
    text = " ".join(word[2] for word in said) or occurrence.text
    return replace(occurrence, end=until, text=text, data={**occurrence.data, "words": said})


@dataclass(frozen=True)
class _Corpus:
    """The committed occurrences of one video, ordered by start, ready to search."""

    revision: int
    occurrences: list[Occurrence]
    starts: np.ndarray
    ends: np.ndarray
    modalities: np.ndarray
    index: HybridIndex

    def visible(self, until: float | None) -> int:
        """How many occurrences start by `until` (a prefix, since they are ordered by start)."""
        return len(self.occurrences) if until is None else int(np.searchsorted(self.starts, until, side="right"))

    def mask(self, modalities: Collection[str] | None, after: float | None, before: float | None) -> np.ndarray:
        keep = np.ones(len(self.occurrences), bool)
        if modalities is not None:
            keep &= np.isin(self.modalities, list(modalities))
        if after is not None:
            keep &= self.starts >= after
        if before is not None:
            keep &= self.ends <= before
        return keep


class Timeline:
    """Occurrences per video: written in the ingest's transaction, read by time and by meaning."""

    def __init__(self, library: Library, embedder, max_cached: int = 16):
        self.library = library
        self.embedder = embedder  # .embed(texts) -> (N, d) float32 unit rows, or None: lexical only
        self._corpora: LruCache[str, _Corpus] = LruCache(max_cached)
        self._query_vector = QueryVectors(embedder)

    # -- writing --------------------------------------------------------------------------

    def add(self, conn: sqlite3.Connection, video: str, drafts: Sequence[OccurrenceDraft]) -> list[Occurrence]:
        """Store occurrences inside the caller's transaction; returns them in the order given.

        A draft that continues an occurrence (same modality, same text, starting where it
        ends) extends that occurrence's end; every other draft becomes a new occurrence.
        """
        if not drafts:
            return []
        base = conn.execute("SELECT MIN(scale) FROM segments WHERE video = ?", (video,)).fetchone()[0]
        ids: list[int] = []
        fresh: dict[int, str] = {}  # id -> text, embedded together at the end
        for draft in drafts:
            run = self._continued_run(conn, video, draft) if draft.modality in MOTION_RUNS else None
            if run is not None:
                occurrence_id, whole = run
                conn.execute(
                    'UPDATE occurrences SET "end" = ?, text = ?, data = ? WHERE id = ?',
                    (_seconds(whole.end), whole.text, _json(whole.data), occurrence_id),
                )
                ids.append(occurrence_id)  # its vector stays its first piece's: what moved, where and how rarely change
                continue
            row = None if draft.modality in MOTION_RUNS else self._continued(conn, video, draft)
            if row is not None:
                conn.execute('UPDATE occurrences SET "end" = ? WHERE id = ?', (max(row["end"], _seconds(draft.end)), row["id"]))
                ids.append(row["id"])
                continue
            (occurrence_id,) = conn.execute(
                'INSERT INTO occurrences(video, modality, start, "end", text, data, segment) VALUES (?, ?, ?, ?, ?, ?, ?) '
                "RETURNING id",
                (
                    video,
                    draft.modality,
                    _seconds(draft.start),
                    _seconds(draft.end),
                    draft.text,
                    _json(draft.data),
                    self._segment_at(conn, video, base, draft.start),
                ),
            ).fetchone()
            ids.append(occurrence_id)
            if draft.modality not in UNEMBEDDED:
                fresh[occurrence_id] = draft.text
        if fresh and self.embedder is not None:
            vectors = np.asarray(self.embedder.embed(list(fresh.values())), np.float32)
            conn.executemany(
                "UPDATE occurrences SET embedding = ? WHERE id = ?", [(v.tobytes(), i) for i, v in zip(fresh, vectors)]
            )
        self.library.bump(conn, video, MEMORY)
        return [
            occurrence_from_row(conn.execute(f"SELECT {_COLUMNS} FROM occurrences WHERE id = ?", (i,)).fetchone()) for i in ids
        ]

    def _continued(self, conn: sqlite3.Connection, video: str, draft: OccurrenceDraft) -> sqlite3.Row | None:
        """The occurrence a draft continues: same modality, ending where it starts, the same text."""
        rows = conn.execute(
            f'SELECT {_COLUMNS} FROM occurrences WHERE video = ? AND modality = ? AND "end" BETWEEN ? AND ? ORDER BY id',
            (video, draft.modality, _seconds(draft.start) - _JOIN, _seconds(draft.start) + _JOIN),
        ).fetchall()
        return next((row for row in rows if same_text(row["text"], draft.text)), None)

    def _continued_run(self, conn: sqlite3.Connection, video: str, draft: OccurrenceDraft) -> tuple[int, Any] | None:
        """The motion run a draft continues (its id), and the two joined, or None."""
        kind = MOTION_RUNS[draft.modality]
        later = kind.from_data(dict(draft.data))
        rows = conn.execute(
            "SELECT id, data FROM occurrences WHERE video = ? AND modality = ? AND json_extract(data, '$.open_end') "
            "AND abs(json_extract(data, '$.bounds[1]') - ?) <= ? ORDER BY id",
            (video, draft.modality, later.bounds[0], _JOIN),
        ).fetchall()
        for row in rows:
            earlier = kind.from_data(json.loads(row["data"]))
            if continues(earlier, later):
                return row["id"], joined(earlier, later)
        return None

    def _segment_at(self, conn: sqlite3.Connection, video: str, base: float | None, time: float) -> int | None:
        if base is None:
            return None
        row = conn.execute(
            "SELECT id FROM segments WHERE video = ? AND scale = ? AND start <= ? ORDER BY start DESC LIMIT 1",
            (video, base, _seconds(time)),
        ).fetchone()
        return row[0] if row else None

    # -- reading --------------------------------------------------------------------------

    def between(
        self,
        video: str,
        start: float,
        end: float,
        modalities: Collection[str] | None = None,
        until: float | None = None,
    ) -> list[Occurrence]:
        """Every occurrence overlapping [start, end] (an instant at either end counts), in time order.

        Reads through this thread's connection, so inside `transaction()` it sees its own writes.
        """
        clauses, params = ["video = ?", "start <= ?", '"end" >= ?'], [video, end, start]
        if until is not None:
            clauses.append("start <= ?")
            params.append(until)
        if modalities is not None:
            clauses.append(f"modality IN ({','.join('?' * len(modalities))})")
            params += list(modalities)
        rows = self.library.connect().execute(
            f"SELECT {_COLUMNS} FROM occurrences WHERE {' AND '.join(clauses)} ORDER BY start, id", params
        )
        return [as_of(occurrence_from_row(row), until) for row in rows]

    def at(
        self, video: str, time: float, modalities: Collection[str] | None = None, until: float | None = None
    ) -> list[Occurrence]:
        """What is going on at one moment: every occurrence that covers it."""
        return self.between(video, time, time, modalities, until)

    def search(
        self,
        video: str,
        query: str,
        k: int = 5,
        modalities: Collection[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        until: float | None = None,
    ) -> list[OccurrenceHit]:
        """The `k` occurrences most relevant to `query`, best first; none that shares nothing with it."""
        return [hit for hit in self._ranked(video, query, k, modalities, after, before, until) if hit.score > 0]

    def matching(
        self,
        video: str,
        query: str,
        modalities: Collection[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        until: float | None = None,
    ) -> list[OccurrenceHit]:
        """Every occurrence that matches `query` well enough (see the module's docstring), in time order."""
        wanted = set(numbers(query))
        ranked = [
            hit
            for hit in self._ranked(video, query, None, modalities, after, before, until)
            if not (wanted and (named := set(numbers(hit.occurrence.text))) and not wanted & named)
        ]
        if not ranked or ranked[0].score < MATCH_FLOOR:
            return []
        best = ranked[0]
        bar = max(MATCH_FLOOR, MATCH_RATIO * best.score)
        kept = [hit for hit in ranked if hit.score >= bar or same_text(hit.occurrence.text, best.occurrence.text)]
        return sorted(kept, key=lambda hit: (hit.occurrence.start, hit.occurrence.id))

    def _ranked(
        self,
        video: str,
        query: str,
        k: int | None,
        modalities: Collection[str] | None,
        after: float | None,
        before: float | None,
        until: float | None,
    ) -> list[OccurrenceHit]:
        corpus = self._committed(video)
        visible = corpus.visible(until)
        ranked = corpus.index.rank(
            query, self._query_vector(query), visible if k is None else k, visible, corpus.mask(modalities, after, before)
        )
        return [OccurrenceHit(as_of(corpus.occurrences[r.position], until), r.score, r.dense, r.lexical) for r in ranked]

    def _committed(self, video: str) -> _Corpus:
        return committed_view(
            self.library, self._corpora, video, video, MEMORY, lambda conn, revision: self._load(conn, video, revision)
        )

    def _load(self, conn: sqlite3.Connection, video: str, revision: int) -> _Corpus:
        rows = conn.execute(
            f"SELECT {_COLUMNS}, embedding FROM occurrences WHERE video = ? ORDER BY start, id", (video,)
        ).fetchall()
        occurrences = [occurrence_from_row(row) for row in rows]
        matrix = None if self.embedder is None else stack_vectors([row["embedding"] for row in rows], self.embedder.dim)
        return _Corpus(
            revision,
            occurrences,
            np.array([o.start for o in occurrences], np.float64),
            np.array([o.end for o in occurrences], np.float64),
            np.array([o.modality for o in occurrences], dtype=object),
            HybridIndex([o.text for o in occurrences], matrix),
        )
