"""A span's occurrences alone: what each finding becomes, detection runs, which cues a span takes,
and the exact spans facts take from occurrences."""

from __future__ import annotations

import numpy as np

from memory.compose import SegmentEvidence, offline_caption
from memory.episodic import SegmentDraft
from memory.ingest.events import cues_in, detection_runs, exact_spans, span_occurrences
from memory.ingest.perceive import Findings
from memory.ingest.spans import Span
from memory.screen_text import Line
from memory.semantic import Candidate
from memory.timeline import Occurrence
from perception.subtitles import Cue
from perception.utterances import Utterance, Word

SPAN = Span(30.0, 60.0, ((30.0, 40.0), (40.0, 50.0), (50.0, 60.0)))
TIMES = np.arange(30.0, 60.0)


def test_detection_runs_cover_consecutive_segments_per_label():
    detections = [(35.0, ("person", "dog")), (45.0, ("person",)), (55.0, ("dog", "person", "person"))]
    runs = [(o.text, o.start, o.end, o.data["segments"]) for o in detection_runs(SPAN, detections)]
    assert runs == [("dog", 30.0, 40.0, 1), ("person", 30.0, 60.0, 3), ("dog", 50.0, 60.0, 1)]
    assert detection_runs(SPAN, []) == []


def test_a_span_takes_the_cues_that_start_in_it_and_the_last_span_the_rest():
    cues = [Cue(29.9, 31.0, "a"), Cue(30.0, 32.0, "b"), Cue(59.5, 61.0, "c"), Cue(60.0, 62.0, "d"), Cue(75.0, 76.0, "e")]
    assert [c.text for c in cues_in(SPAN, cues, duration=120.0)] == ["b", "c"]
    assert [c.text for c in cues_in(SPAN, cues, duration=60.0)] == ["b", "c", "d", "e"]


def test_every_finding_becomes_an_occurrence_and_offline_captions_do_not():
    words = (Word(31.2, 31.6, "Mind"), Word(31.7, 32.4, "the"), Word(32.5, 33.0, "gap."))
    found = Findings(
        lines=tuple((Line("EXIT", (0.0, 0.0, 40.0, 20.0)),) if 33 <= t < 41 else () for t in TIMES),
        utterances=(Utterance(31.2, 33.0, "Mind the gap.", words),),
        detections=((35.0, ("train",)),),
    )
    evidence = [
        SegmentEvidence(30.0, 40.0, ("EXIT",), ("Mind the gap.",), ("train",), (36.0,)),
        SegmentEvidence(40.0, 50.0, ("EXIT",), (), (), ()),
        SegmentEvidence(50.0, 60.0, (), (), (), ()),
    ]
    drafts = [SegmentDraft(10.0, e.start, e.end, caption=offline_caption(e)) for e in evidence]
    drafts[2] = SegmentDraft(10.0, 50.0, 60.0, caption="A train leaves the platform.")  # what a VLM said
    cues = [Cue(44.0, 46.0, "[whistle]")]
    made = span_occurrences(SPAN, TIMES, (320, 240), found, evidence, drafts, cues)
    assert [(o.modality, o.start, o.end, o.text) for o in made] == [
        ("speech", 31.2, 33.0, "Mind the gap."),
        ("subtitle", 44.0, 46.0, "[whistle]"),
        ("text", 32.5, 40.5, "EXIT"),
        ("scene", 36.0, 36.0, "scene change"),
        ("object", 30.0, 40.0, "train"),
        ("caption", 50.0, 60.0, "A train leaves the platform."),
    ]
    assert made[0].data == {"words": [[31.2, 31.6, "Mind"], [31.7, 32.4, "the"], [32.5, 33.0, "gap."]]}
    assert made[2].data == {"box": [0.0, 0.0, 0.125, 0.0833]} and made[5].data == {"scale": 10.0}


def occurrence(modality: str, start: float, end: float, text: str) -> Occurrence:
    return Occurrence(1, "v", modality, start, end, text, {}, None)


def candidate(source: str, obj: str, start: float = 40.0, end: float = 50.0) -> Candidate:
    return Candidate("x", "text", "shown", obj, start, end, 0.9, source, 7)


def test_facts_take_the_span_of_the_occurrence_that_states_them():
    occurred = [
        occurrence("text", 12.5, 47.5, "VAULT CODE 4172"),
        occurrence("speech", 42.3, 51.9, "The vault opens at noon. Bring the key."),
        occurrence("text", 55.5, 58.5, "EXIT"),
    ]
    facts = [
        candidate("ocr", "VAULT CODE 4172"),
        candidate("speech", "Bring the key."),
        candidate("ocr", "EXIT"),  # its run lies outside this segment: another showing
        candidate("detector", "person"),
        candidate("vlm", "VAULT CODE 4172"),
    ]
    assert [(c.start, c.end) for c in exact_spans(facts, occurred)] == [
        (12.5, 47.5),
        (42.3, 51.9),
        (40.0, 50.0),
        (40.0, 50.0),
        (40.0, 50.0),
    ]
