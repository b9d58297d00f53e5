"""Libraries of many hours, built cheaply from a few real ingests, for `longshot bench library`.

It lives in `app` because it writes through the memories' own commit code, which `evals` may not
import (DESIGN.md: evals < app < memory).

Seeds are real ingests: shared clips with speech, on-screen text and motion, and a 10-minute
needle video (real footage, LibriVox speech, notices), ingested once with the offline stack and
kept. Their base segments, in order, make a "tape". Each synthetic video plays the tape from a
random offset for a random length (30 min to 2 h), with every number in its text replaced by
another of the same length, and one needle of its own: a segment reading "CASE FILE <n> <word>"
at a random moment (a segment and an on-screen text run), so search quality can be checked at any size.

Videos are written through the code ingest commits with: `Library.upsert_video` and
`update_video`, `EpisodicMemory.add` for the base segments and the parents that
`memory.ingest.rollup.roll_up` closes span by span (captions summarised offline, as ingest does
without a VLM), `Timeline.add` for the seeds' occurrences (utterances with their words' times,
on-screen text runs, detection runs, captions, scene changes) moved with the segment they start
in, and `SemanticMemory.consolidate` for the seeds' facts restated on the new segments; never
SQL of its own. What it leaves out, and why: frames (no frame store, no visual
memory rows: the bench measures retrieval, and 1000 h of JPEG frames would not fit this disk).

Cheap embeddings: the text embedder is wrapped by `TemplateEmbedder`, which embeds a text once per
template (the text with its digits masked), so texts that differ only in their numbers share a
vector. Lexical search still sees every number; only the dense part is shared.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from memory.compose import merge_captions
from memory.episodic import EpisodicMemory, Segment, SegmentDraft
from memory.ingest.rollup import roll_up
from memory.ingest.spans import plan_spans
from memory.semantic import Candidate, SemanticMemory
from memory.store import Library, VideoRecord
from memory.timeline import Occurrence, OccurrenceDraft, Timeline

SEED_CLIPS = ("Megamind.avi", "big_buck_bunny_0_30.webm", "flipping_a_pancake.mkv", "vtest.avi", "bottle-detection.mp4",
              "car-detection.mp4", "one-by-one-person-detection.mp4", "making_cake.mp4")  # fmt: skip
NEEDLE_WORDS = ("harbour", "violin", "glacier", "lantern", "orchard", "compass", "meadow", "falcon", "quarry", "saddle",
                "beacon", "thistle", "cellar", "ferry", "granite", "kettle", "marble", "pepper", "ribbon", "walnut")  # fmt: skip
SPAN_SECONDS = 600.0  # one commit per 10 minutes of synthetic video
_DIGITS = re.compile(r"\d+")


class TemplateEmbedder:
    """A text embedder that embeds each template (digits masked) once; the vector is shared by every text
    of that template."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.dim = embedder.dim
        self.name = getattr(embedder, "name", "template")
        self._vectors: dict[str, np.ndarray] = {}
        self.embedded = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [_DIGITS.sub("#", text) for text in texts]
        missing = sorted({key for key, text in zip(keys, texts) if key not in self._vectors})
        if missing:
            firsts: dict[str, str] = {}
            for key, text in zip(keys, texts):
                firsts.setdefault(key, text)
            for key, vector in zip(missing, np.asarray(self.embedder.embed([firsts[k] for k in missing]), np.float32)):
                self._vectors[key] = vector
            self.embedded += len(missing)
        return np.stack([self._vectors[key] for key in keys]) if keys else np.zeros((0, self.dim), np.float32)


@dataclass(frozen=True)
class TapeItem:
    """One seed base segment, the facts its video states about it (as candidates) and the occurrences
    that start in it."""

    segment: Segment
    facts: tuple[Candidate, ...]
    settings: dict
    occurrences: tuple[Occurrence, ...] = ()


@dataclass(frozen=True)
class Needle:
    video: str
    name: str
    start: float
    code: str
    word: str

    @property
    def text(self) -> str:
        return f"CASE FILE {self.code} {self.word.upper()}"


def read_tape(library: Library, episodic: EpisodicMemory, semantic: SemanticMemory, timeline: Timeline) -> list[TapeItem]:
    """Every seed video's base segments in time order, video after video, with their facts and occurrences."""
    tape = []
    for record in library.videos():
        scales = episodic.scales(record.id)
        if not scales:
            continue
        starting: dict[int | None, list[Occurrence]] = {}
        for occurrence in timeline.between(record.id, 0.0, record.duration):
            starting.setdefault(occurrence.segment, []).append(occurrence)
        facts: dict[int, list[Candidate]] = {}
        kinds = {e.id: e.kind for e in semantic.entities(record.id)}
        for fact in semantic.facts(record.id):
            for segment_id in fact.segments[:1]:
                facts.setdefault(segment_id, []).append(
                    Candidate(
                        fact.subject,
                        kinds.get(fact.subject_id, "thing"),
                        fact.relation,
                        fact.object,
                        fact.start,
                        fact.end,
                        fact.confidence,
                        fact.source,
                        segment_id,
                    )
                )
        for segment in episodic.segments(record.id, scale=scales[0]):
            found = tuple(starting.get(segment.id, ()))
            tape.append(TapeItem(segment, tuple(facts.get(segment.id, ())), record.settings, found))
    return tape


def perturbed(text: str, rng: random.Random, table: dict[str, str] | None = None) -> str:
    """Every number replaced by a random one of the same length; with a `table`, the same number by the
    same replacement each time (so a segment's texts, occurrences and facts still agree)."""
    table = {} if table is None else table

    def replaced(match: re.Match) -> str:
        number = match.group()
        return table.setdefault(number, "".join(rng.choice("0123456789") for _ in number))

    return _DIGITS.sub(replaced, text)


class Replicator:
    """Writes synthetic videos made from the tape into a library, through ingest's commit code."""

    def __init__(
        self, library: Library, episodic: EpisodicMemory, semantic: SemanticMemory, timeline: Timeline, tape: list[TapeItem]
    ):
        self.library = library
        self.episodic = episodic
        self.semantic = semantic
        self.timeline = timeline
        self.tape = tape

    def add(self, number: int, rng: random.Random) -> Needle:
        """Video `number`: the tape from a random offset for 30 min to 2 h, numbers perturbed, one needle."""
        base = float(self.tape[0].settings.get("segment_seconds", 10.0))
        scales = [30.0, 180.0, 600.0]
        duration = rng.randrange(3, 13) * 600.0
        count = round(duration / base)
        offset = rng.randrange(len(self.tape))
        video = hashlib.sha256(f"longshot-bench-library-{number}".encode()).hexdigest()[:16]
        name = f"bench-{number:05d}.mp4"
        needle = Needle(video, name, base * rng.randrange(count), f"{number:05d}", rng.choice(NEEDLE_WORDS))
        record = _record(video, name, duration, self.tape[0].settings | {"scales": scales}, time.time())
        registered = False
        for span in plan_spans(0.0, duration, base, SPAN_SECONDS):
            drafts, facts, occurrences = [], [], []
            for start, end in span.segments:
                item = self.tape[(offset + round(start / base)) % len(self.tape)]
                renumber = partial(perturbed, rng=rng, table={})
                drafts.append(self._draft(item, start, end, base, needle, renumber))
                facts.append([_restated(c, item.segment.start, start, end, renumber) for c in item.facts])
                if abs(start - needle.start) < 1e-6:
                    occurrences.append(OccurrenceDraft("text", start, end, needle.text, {"box": [0.1, 0.4, 0.9, 0.6]}))
                else:
                    occurrences += [_moved(o, start - item.segment.start, duration, renumber) for o in item.occurrences]
            parents = roll_up(span, base, scales, duration, drafts, self._committed(video), lambda s, e, c: merge_captions(c))
            with self.library.transaction() as conn:
                if not registered:
                    self.library.upsert_video(conn, record)
                    registered = True
                stored = self.episodic.add(conn, video, [*drafts, *parents])[: len(drafts)]
                self.timeline.add(conn, video, occurrences)
                candidates = [replace(c, segment_id=s.id) for s, found in zip(stored, facts) for c in found]
                self.semantic.consolidate(conn, video, candidates)
                done = span.end >= duration - 1e-6
                self.library.update_video(conn, video, committed_until=span.end, status="ready" if done else "ingesting")
        return needle

    def _draft(
        self, item: TapeItem, start: float, end: float, base: float, needle: Needle, renumber: Callable[[str], str]
    ) -> SegmentDraft:
        if abs(start - needle.start) < 1e-6:
            return SegmentDraft(base, start, end, caption=f'On screen: "{needle.text}".', ocr_text=needle.text)
        seed = item.segment
        return SegmentDraft(
            base,
            start,
            end,
            caption=renumber(seed.caption),
            ocr_text=renumber(seed.ocr_text),
            speech_text=renumber(seed.speech_text),
            objects=seed.objects,
        )

    def _committed(self, video: str):
        return lambda scale, start, end: self.episodic.segments(video, scale=scale, start=start, end=end)


def _moved(occurrence: Occurrence, shift: float, duration: float, renumber: Callable[[str], str]) -> OccurrenceDraft:
    """A seed's occurrence, moved by `shift` seconds (its words too), numbers perturbed, ending by `duration`."""
    start = min(occurrence.start + shift, duration)
    data = dict(occurrence.data)
    if "words" in data:
        data["words"] = [[min(s + shift, duration), min(e + shift, duration), renumber(w)] for s, e, w in data["words"]]
    return OccurrenceDraft(occurrence.modality, start, min(occurrence.end + shift, duration), renumber(occurrence.text), data)


def _restated(fact: Candidate, seed_start: float, start: float, end: float, renumber: Callable[[str], str]) -> Candidate:
    """A seed's fact about a segment, said of the segment that copies it: same offsets, numbers perturbed."""
    return replace(
        fact,
        subject=renumber(fact.subject),
        object=renumber(fact.object),
        start=start + max(0.0, fact.start - seed_start),
        end=min(end, start + max(0.0, fact.end - seed_start)),
    )


def _record(video: str, name: str, duration: float, settings: dict, now: float) -> VideoRecord:
    return VideoRecord(
        id=video,
        name=name,
        path=str(Path("/nonexistent/longshot-bench") / name),
        size_bytes=0,
        duration=duration,
        fps=25.0,
        width=640,
        height=360,
        has_audio=True,
        status="ingesting",
        committed_until=0.0,
        frames=0,
        sample_fps=1.0,
        settings=settings,
        error=None,
        created=now,
        updated=now,
    )


def grow_library(seeds: str | Path, home: str | Path, target_hours: float) -> dict[str, Any]:
    """Add synthetic videos made from the seed library at `seeds` to the library at `home` until it holds
    `target_hours` hours; the needles are kept in `<home>/needles.json`. Figures of the growth."""
    from app.api import Longshot

    started = time.perf_counter()
    source = Longshot(home=seeds)
    tape = read_tape(source.library, source.episodic, source.semantic, source.timeline)
    longshot = Longshot(home=home)
    embedder = TemplateEmbedder(longshot.models.text_embedder)
    memories = (EpisodicMemory(longshot.library, embedder), SemanticMemory(longshot.library, embedder))
    replicator = Replicator(longshot.library, *memories, Timeline(longshot.library, embedder), tape)
    needles_file = Path(home) / "needles.json"
    needles = json.loads(needles_file.read_text()) if needles_file.is_file() else []
    hours = sum(v.duration for v in longshot.videos()) / 3600
    added = 0
    while hours < target_hours:
        needle = replicator.add(len(needles), random.Random(len(needles)))
        needles.append(asdict(needle))
        hours += longshot.video(needle.video).duration / 3600
        added += 1
        if added % 25 == 0:
            needles_file.write_text(json.dumps(needles))
    needles_file.write_text(json.dumps(needles))
    return {
        "videos": len(needles),
        "hours": hours,
        "added": added,
        "grow_s": time.perf_counter() - started,
        "templates_embedded": embedder.embedded,
        "tape_segments": len(tape),
    }


def needles_of(home: str | Path) -> list[Needle]:
    """The needles of a grown library."""
    return [Needle(**n) for n in json.loads((Path(home) / "needles.json").read_text())]
