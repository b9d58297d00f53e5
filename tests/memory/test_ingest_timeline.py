"""Ingest writes the event timeline: notices as runs with their own times (joined across batches),
speech at its own times with sentences kept whole, subtitles like speech, facts with exact spans."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from app import Longshot
from app.sample_video import speak
from memory.timeline import Timeline, same_text
from perception.errors import SubtitleError
from perception.models import Models
from tests.memory.ingest_support import footage_with_needles, librivox, segment_holding, words
from tests.memory.test_build import ingestor, settings
from tests.synth import make_video

NOTICES = [(12.3, 16.8, "GATE B7 CLOSED"), (21.4, 64.2, "VAULT CODE 4172"), (66.7, 70.1, "GATE B7 CLOSED")]


@pytest.fixture(scope="module")
def ocr_only(tmp_path_factory) -> Models:
    return Models(settings(tmp_path_factory.mktemp("unused")))


@pytest.fixture(scope="module")
def notices_video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "notices.mp4", seconds=75, fps=5, texts=NOTICES)


def test_each_showing_of_a_notice_is_one_occurrence_at_its_own_times(home, ocr_only, notices_video):
    ingest = ingestor(home, ocr_only)
    video = ingest.ingest(notices_video).video.id  # spans of 30 s: the vault code runs across two edges
    shown = ingest.timeline.between(video, 0, 75, modalities={"text"})
    assert len(shown) == len(NOTICES), shown
    for occurrence, (start, end, text) in zip(shown, NOTICES):
        assert same_text(occurrence.text, text)
        assert abs(occurrence.start - start) <= 1.0 and abs(occurrence.end - end) <= 1.0, (occurrence, start, end)
    assert [o.segment for o in shown] == [segment_holding(ingest.episodic.segments(video, scale=10), s).id for s, _, _ in NOTICES]
    assert len(ingest.timeline.matching(video, "GATE B7 CLOSED", modalities={"text"})) == 2

    vault = next(f for f in ingest.semantic.facts(video) if f.source == "ocr" and "4172" in f.object)
    assert abs(vault.start - 21.4) <= 1.0 and abs(vault.end - 64.2) <= 1.0  # the run's span, not its segments'


CUES = """1
00:00:03,200 --> 00:00:06,900
The ferry to Oslo leaves from pier nine.

2
00:00:13,500 --> 00:00:15,000
[gulls crying]
"""


def test_subtitles_beside_the_video_or_given_enter_the_timeline_and_the_segments(home, ocr_only, tmp_path):
    clip = make_video(tmp_path / "harbour.mp4", seconds=20, fps=5)
    (tmp_path / "harbour.srt").write_text(CUES)
    ingest = ingestor(home, ocr_only)
    video = ingest.ingest(clip).video.id
    cues = ingest.timeline.between(video, 0, 20, modalities={"subtitle"})
    assert [(o.start, o.end, o.text) for o in cues] == [
        (3.2, 6.9, "The ferry to Oslo leaves from pier nine."),
        (13.5, 15.0, "[gulls crying]"),
    ]
    base = ingest.episodic.segments(video, scale=10)
    assert [s.speech_text for s in base] == ["The ferry to Oslo leaves from pier nine.", "[gulls crying]"]
    assert ingest.episodic.search(video, "ferry to Oslo pier", scale=10)[0].segment.start == 0.0

    given = tmp_path / "other.vtt"
    given.write_text("WEBVTT\n\n00:00:11.000 --> 00:00:12.500\nThe bus leaves at noon.\n")
    again = make_video(tmp_path / "harbour2.mp4", seconds=12, fps=5)
    shutil.copy(tmp_path / "harbour.srt", tmp_path / "harbour2.srt")
    second = ingest.ingest(again, subtitles=given).video.id  # what is given wins over the file beside it
    assert [o.text for o in ingest.timeline.between(second, 0, 20, modalities={"subtitle"})] == ["The bus leaves at noon."]


def test_a_bad_subtitle_file_fails_before_anything_is_written(home, ocr_only, tmp_path):
    clip = make_video(tmp_path / "clip.mp4", seconds=5, fps=5)
    ingest = ingestor(home, ocr_only)
    with pytest.raises(SubtitleError, match="missing"):
        ingest.ingest(clip, subtitles=tmp_path / "absent.srt")
    with pytest.raises(SubtitleError, match="not a subtitle file"):
        ingest.ingest(clip, subtitles=clip)
    assert ingest.library.videos() == []


# -- real speech spliced into real footage ---------------------------------------------------

SENTENCES = [
    (23.37, "Our next speaker has travelled from the Goddard Space Flight Center."),
    (58.81, "Please collect your luggage from carousel number four."),
]
READING = ("sense_and_sensibility_01_austen_64kb-0870", 86.6)  # about 7 s: from the segment 80-90 into 90-100


@pytest.mark.slow
@pytest.mark.integration
def test_spliced_speech_is_stored_at_its_own_times_and_sentences_stay_whole(tmp_path, media):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    reading, transcript = librivox(media, READING[0])
    audio = np.zeros(110 * 16000, np.float32)
    onsets = []
    for at, sentence in [*SENTENCES, (READING[1], transcript)]:
        clip = reading if sentence == transcript else speak(sentence, tmp_path)
        first = round(at * 16000)
        audio[first : first + clip.size] += clip
        onsets.append(at + float(np.argmax(np.abs(clip) > 0.01)) / 16000)
    path = footage_with_needles(tmp_path / "spliced.mp4", media, 110, (0.0, audio), (40.3, 47.9, "EXIT 12"))

    longshot = Longshot(home=tmp_path / "home")
    video = longshot.ingest(path).video.id
    timeline: Timeline = longshot.timeline
    said = timeline.between(video, 0, 110, modalities={"speech"})
    assert len(said) == 3, [(o.start, o.text) for o in said]
    for occurrence, onset in zip(said, onsets):
        assert abs(occurrence.start - onset) <= 1.0, (occurrence.start, onset, occurrence.text)
        assert occurrence.data["words"][0][0] == occurrence.start
    whole = said[2]
    assert "leisure to consider" in words(whole.text) and "power to do for them" in words(whole.text)
    assert whole.start < 90.0 < whole.end  # said across a segment edge...
    base = longshot.episodic.segments(video, scale=10)
    assert "power to do for them" in words(segment_holding(base, 86.0).speech_text)  # ...kept whole where it starts
    assert "power to do for them" not in words(segment_holding(base, 95.0).speech_text)

    fact = next(f for f in longshot.semantic.facts(video) if f.source == "speech" and "luggage" in words(f.object))
    assert (fact.start, fact.end) == (said[1].start, said[1].end)
    found = timeline.search(video, "where can passengers collect their luggage?", modalities={"speech"})
    assert found and found[0].occurrence.id == said[1].id
    shown = timeline.between(video, 0, 110, modalities={"text"})
    assert [(round(o.start), round(o.end), o.text) for o in shown if "EXIT" in o.text] == [(40, 48, "EXIT 12")]
