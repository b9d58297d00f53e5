"""Evidence assembly alone: which segment of a span each line read, word said, object seen and
scene change belongs to, and which frames become a segment's keyframes."""

from __future__ import annotations

import numpy as np

from memory.compose import SegmentEvidence
from memory.ingest.evidence import base_draft, keyframes, segment_evidence
from memory.ingest.perceive import Findings
from memory.ingest.spans import Span
from memory.screen_text import Line
from perception.speech import Utterance
from perception.subtitles import Cue

SPAN = Span(20.0, 40.0, ((20.0, 30.0), (30.0, 40.0)))
TIMES = np.arange(20.0, 40.0, 2.0)  # ten frames, five per segment


def features(changes_at: set[int]) -> np.ndarray:
    """Unit pixel features that stay the same from frame to frame except at `changes_at`."""
    looks = np.eye(4, dtype=np.float32)
    which, current = [], 0
    for i in range(len(TIMES)):
        current = (current + 1) % 4 if i in changes_at else current
        which.append(current)
    return looks[which]


def read(*texts: str) -> tuple[Line, ...]:
    """Lines as OCR reads them off one frame, one under the other."""
    return tuple(Line(text, (10.0, 40.0 * i, 200.0, 40.0 * i + 30)) for i, text in enumerate(texts))


def test_each_finding_lands_in_its_segment_once_and_in_order():
    lines = [read("EXIT")] * 3 + [read("EXIT", "GATE 4"), read("GATE 4")] + [()] * 4 + [read("PLATFORM 2")]
    found = Findings(
        lines=tuple(lines),
        utterances=(
            Utterance(21.0, 23.0, " Mind the gap. "),
            Utterance(29.5, 31.0, "   "),  # nothing said
            Utterance(33.0, 35.0, "Next stop."),
        ),
        detections=((24.0, ("person", "dog", "person")), (34.0, ("train",))),
    )
    first, second = segment_evidence(SPAN, TIMES, features({3, 8}), found)
    assert first == SegmentEvidence(20.0, 30.0, ("EXIT", "GATE 4"), ("Mind the gap.",), ("person", "dog"), (26.0,))
    assert second == SegmentEvidence(30.0, 40.0, ("PLATFORM 2",), ("Next stop.",), ("train",), (36.0,))


def test_a_sentence_stays_whole_with_the_segment_it_starts_in_and_subtitles_join_the_speech():
    found = Findings(utterances=(Utterance(28.7, 33.9, "The vault code, said the guard, is four one seven two."),))
    cues = [Cue(25.0, 27.5, "[door creaks]"), Cue(31.0, 32.0, "Four one seven two.")]
    first, second = segment_evidence(SPAN, TIMES, features(set()), found, cues)
    assert first.speech == ("[door creaks]", "The vault code, said the guard, is four one seven two.")
    assert second.speech == ("Four one seven two.",)


def test_models_that_are_off_leave_only_the_scene_changes():
    evidence = segment_evidence(SPAN, TIMES, features({6}), Findings())
    assert [(e.ocr_lines, e.speech, e.objects) for e in evidence] == [((), (), ())] * 2
    assert [e.scene_changes for e in evidence] == [(), (32.0,)]


def test_a_segment_without_frames_has_empty_evidence():
    times = TIMES[:5]  # frames of the first segment only
    evidence = segment_evidence(SPAN, times, features(set())[:5], Findings(lines=(read("EXIT"),) * 5))
    assert evidence[1] == SegmentEvidence(30.0, 40.0, (), (), (), ())


def test_keyframes_spread_over_the_segment_first_and_last_included():
    assert keyframes(SPAN, TIMES, 0).tolist() == [0, 2, 4]
    assert keyframes(SPAN, TIMES, 1).tolist() == [5, 7, 9]
    assert keyframes(SPAN, TIMES[:7], 1).tolist() == [5, 6]
    assert keyframes(SPAN, TIMES[:5], 1).tolist() == []


def test_a_base_draft_carries_its_evidence_and_store_keyframes():
    item = SegmentEvidence(20.0, 30.0, ("EXIT", "GATE 4"), ("Mind the gap.", "Thank you."), ("person",), (26.0,))
    draft = base_draft(10.0, item, "A caption.", np.array([100, 102]))
    assert (draft.scale, draft.start, draft.end, draft.caption) == (10.0, 20.0, 30.0, "A caption.")
    assert (draft.ocr_text, draft.speech_text, draft.objects, draft.keyframes) == (
        "EXIT\nGATE 4",
        "Mind the gap. Thank you.",
        ("person",),
        (100, 102),
    )
