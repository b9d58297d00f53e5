"""The ingest pipeline on small synthetic media: where things land, resuming, bad input, the VLM's
failures, progress, concurrent ingests, and the command line."""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from memory.audit import snapshot
from memory.build import Ingestor, IngestProgress
from memory.compose import merge_captions
from memory.episodic import EpisodicMemory
from memory.frames import FrameCache
from memory.store import Library
from perception.config import Config
from perception.errors import DiskFullError, NotAVideoError, UnreadableVideoError
from perception.models import Models
from tests.fakes.openai_server import ScriptedOpenAIServer
from tests.memory.ingest_support import corrupt_mjpeg, full_disk, segment_holding, undecodable_audio
from tests.synth import make_video, tone

NOTICE = "VAULT CODE 4172"
OFFLINE = {
    "models__speech": "none",
    "models__text_embedding": "none",
    "models__image_embedding": "none",
    "models__detector": "none",
    "ingest__scales": (30.0,),
}


def settings(home: Path, **overrides) -> Config:
    return Config().replace(home=home, **{**OFFLINE, **overrides})


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Models:
    """OCR only (the other roles off), loaded once for the module."""
    return Models(settings(tmp_path_factory.mktemp("unused")))


@pytest.fixture(scope="module")
def notice_video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "notice.mp4", seconds=45, fps=5, texts=[(12.0, 16.0, NOTICE)])


def ingestor(home: Path, models: Models, **overrides) -> Ingestor:
    return Ingestor(Library(home), models, settings(home, **overrides), FrameCache(64 << 20))


def test_notice_lands_in_its_segment_at_every_scale(home, models, notice_video):
    ingest = ingestor(home, models)
    result = ingest.ingest(notice_video)
    video = result.video
    assert (video.status, video.committed_until, video.frames, video.duration) == ("ready", 45.0, 45, 45.0)
    base = ingest.episodic.segments(video.id, scale=10)
    assert [(s.start, s.end) for s in base] == [(0, 10), (10, 20), (20, 30), (30, 40), (40, 45)]
    coarse = ingest.episodic.segments(video.id, scale=30)
    assert [(s.start, s.end) for s in coarse] == [(0, 30), (30, 45)]
    for segments in (base, coarse):
        assert [NOTICE in s.ocr_text for s in segments] == [s is segment_holding(segments, 14.0) for s in segments]
        assert NOTICE in segment_holding(segments, 14.0).caption
    shown = [f for f in ingest.semantic.facts(video.id) if f.object == NOTICE]
    assert len(shown) == 1 and shown[0].relation == "shown" and shown[0].source == "ocr"
    _, moments = ingest.semantic.trace(shown[0].id)
    assert [(m.scale, m.start) for m in moments] == [(10.0, 10.0)]
    assert len(ingest.visual.vectors(video.id)[0]) == 45
    assert 0 < result.counters["ocr_reads"] < result.counters["ocr_looks"] < 45  # unchanged frames are never read


def test_second_ingest_does_nothing(home, models, notice_video):
    ingest = ingestor(home, models)
    first = ingest.ingest(notice_video)
    before = snapshot(home, first.video.id)
    again = ingest.ingest(notice_video)
    assert again.already_done and again.video.id == first.video.id
    assert snapshot(home, first.video.id) == before


def test_a_video_committed_to_its_end_but_not_marked_ready_resumes_to_the_same_memory(home, models, notice_video):
    """A kill between the last batch's commit and the final mark leaves the whole video committed."""
    ingest = ingestor(home, models, ingest__batch_frames=20)  # spans of 20 s: the last, 40-45 s, is cut short
    video = ingest.ingest(notice_video).video.id
    before = snapshot(home, video)
    with ingest.library.transaction() as conn:
        ingest.library.update_video(conn, video, status="ingesting")
    resumed = ingest.ingest(notice_video)
    assert resumed.resumed_from == 45.0 and resumed.counters["frames"] == 0
    assert snapshot(home, video) == before


def test_files_that_are_not_videos_leave_nothing(home, models, tmp_path):
    ingest = ingestor(home, models)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 100)
    plain = make_video(tmp_path / "plain.mp4", seconds=4)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(plain.read_bytes()[: plain.stat().st_size // 2])  # moov atom at the end: nothing opens
    cases = [
        (tmp_path / "missing.mp4", UnreadableVideoError),
        (tmp_path, UnreadableVideoError),
        (text, NotAVideoError),
        (cut, NotAVideoError),
    ]
    for path, error in cases:
        with pytest.raises(error):
            ingest.ingest(path)
    assert ingest.library.videos() == []
    assert list((home / "videos").iterdir()) == []


def test_truncated_file_ingests_what_is_there(home, models, tmp_path):
    plain = make_video(tmp_path / "plain.mp4", seconds=30, fps=5)
    whole = tmp_path / "faststart.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", plain, "-c", "copy", "-movflags", "+faststart", whole], check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 5])
    ingest = ingestor(home, models)
    result = ingest.ingest(cut)
    assert result.video.status == "ready" and 5 < result.video.duration < 20
    assert any("truncated" in w for w in result.warnings)
    base = ingest.episodic.segments(result.video.id, scale=10)
    assert base[0].start == 0 and base[-1].end == result.video.duration


def test_frames_that_fail_to_decode_are_skipped_and_reported(home, models, tmp_path):
    ingest = ingestor(home, models)
    result = ingest.ingest(corrupt_mjpeg(tmp_path / "corrupt.mkv", seconds=20, bad=range(40, 50)))  # 8.0-9.8 s
    assert result.skipped_frames == 10 and any("10 frame(s) could not be decoded" in w for w in result.warnings)
    video = result.video
    assert (video.status, video.duration) == ("ready", 20.0)
    assert ingest.library.video(video.id).frames == 18  # 1 fps: the frames nearest 8 s and 9 s are gone
    store = ingest.frame_store(video)
    assert 8.0 not in store.times and 9.0 not in store.times
    base = ingest.episodic.segments(video.id, scale=10)
    assert [(s.start, s.end) for s in base] == [(0, 10), (10, 20)] and len(base[0].keyframes) == 3


@pytest.fixture(scope="module")
def speech_models(tmp_path_factory) -> Models:
    return Models(settings(tmp_path_factory.mktemp("unused"), models__speech="faster-whisper:tiny.en", models__ocr="none"))


def test_video_without_audio(home, speech_models, tmp_path):
    ingest = ingestor(home, speech_models, models__speech="faster-whisper:tiny.en", models__ocr="none")
    result = ingest.ingest(make_video(tmp_path / "silent.mp4", seconds=12))
    assert result.video.status == "ready" and not result.video.has_audio
    assert result.warnings == () and result.counters["speech_spans"] == 0


def test_audio_that_cannot_be_decoded_is_a_warning(home, speech_models, tmp_path):
    ingest = ingestor(home, speech_models, models__speech="faster-whisper:tiny.en", models__ocr="none")
    result = ingest.ingest(undecodable_audio(tmp_path / "bad-audio.mkv"))
    assert result.video.status == "ready" and result.video.has_audio
    assert any("audio track (mp3float) could not be decoded" in w for w in result.warnings)
    assert all(not s.speech_text for s in ingest.episodic.segments(result.video.id))


def test_tone_is_not_speech(home, speech_models, tmp_path):
    """A loud tone passes the energy gate; Whisper's voice detection then finds no words."""
    ingest = ingestor(home, speech_models, models__speech="faster-whisper:tiny.en", models__ocr="none")
    result = ingest.ingest(make_video(tmp_path / "tone.mp4", seconds=12, audio=tone(12.0)))
    assert result.warnings == () and result.counters["speech_seconds"] > 0
    assert all(not s.speech_text for s in ingest.episodic.segments(result.video.id))


# -- a full disk ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_notice_video(tmp_path_factory) -> Path:
    texts = [(12.0, 16.0, NOTICE), (33.0, 38.0, "GATE B7 CLOSED")]
    return make_video(tmp_path_factory.mktemp("media") / "two-notices.mp4", seconds=60, fps=5, texts=texts)


@pytest.mark.slow
def test_disk_full_mid_ingest_fails_typed_and_resumes_to_the_same_memory(home, models, long_notice_video, tmp_path, monkeypatch):
    armed = [False]
    ingest = ingestor(home, models, ingest__batch_frames=10)

    def arm_after_first_commit(event: IngestProgress) -> None:
        if event.stage == "commit":
            armed[0] = True

    with full_disk(monkeypatch, armed) as failures, pytest.raises(DiskFullError, match="no space left"):
        ingest.ingest(long_notice_video, progress=arm_after_first_commit)
    assert failures
    video = ingest.library.video(long_notice_video.name)
    assert video.status == "failed" and "no space left" in video.error
    assert 10.0 <= video.committed_until < 60.0
    base = ingest.episodic.segments(video.id, scale=10)
    assert [s.end for s in base][-1] == video.committed_until and [s.start for s in base] == [10.0 * i for i in range(len(base))]
    assert len(ingest.visual.vectors(video.id)[0]) == video.frames == video.committed_until  # 1 fps

    armed[0] = False  # space freed
    resumed = ingest.ingest(long_notice_video)
    assert resumed.resumed_from == video.committed_until and resumed.video.status == "ready"
    reference = tmp_path / "reference"
    ingestor(reference, models, ingest__batch_frames=10).ingest(long_notice_video)
    assert snapshot(home, video.id) == snapshot(reference, video.id)


@pytest.mark.slow
def test_disk_full_before_the_first_commit_leaves_nothing(home, models, notice_video, monkeypatch):
    ingest = ingestor(home, models)
    with full_disk(monkeypatch, [True]), pytest.raises(DiskFullError):
        ingest.ingest(notice_video)
    assert ingest.library.videos() == []
    assert list((home / "videos").iterdir()) == []
    assert ingest.ingest(notice_video).video.status == "ready"  # and a later ingest starts clean


# -- the VLM ------------------------------------------------------------------------------------


def vlm_settings(server: ScriptedOpenAIServer, **more) -> dict:
    return dict(models__vlm=f"openai:fake-vlm@{server.base_url}", vlm__max_retries=0, vlm__timeout_s=1.0, **more)


def scripted(request: dict) -> str | dict:
    """A well-behaved VLM: captions, summaries and JSON facts, told apart by the prompt."""
    text = " ".join(p["text"] for m in request["messages"] for p in _parts(m) if p.get("type") == "text")
    if request.get("response_format"):
        return json.dumps({"facts": [{"subject": "vault", "kind": "place", "relation": "has code", "object": "4172"}]})
    if text.startswith("Summarise"):
        return "A summary of the notices."
    return "A white notice with black text on a coloured background."


def _parts(message: dict) -> list[dict]:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def test_vlm_captions_summaries_and_facts(home, notice_video):
    with ScriptedOpenAIServer(scripted) as server:
        config = settings(home, models__ocr="none", **vlm_settings(server))
        ingest = Ingestor(Library(home), Models(config), config, FrameCache(1 << 20))
        result = ingest.ingest(notice_video)
    assert result.warnings == () and server.errors == []
    video = result.video.id
    base, coarse = ingest.episodic.segments(video, scale=10), ingest.episodic.segments(video, scale=30)
    assert {s.caption for s in base} == {"A white notice with black text on a coloured background."}
    assert {s.caption for s in coarse} == {"A summary of the notices."}
    images = [p for r in server.requests for m in r["messages"] for p in _parts(m) if p.get("type") == "image_url"]
    assert len(images) == 3 * len(base)  # three keyframes per base segment
    facts = [f for f in ingest.semantic.facts(video) if f.source != "motion"]  # the notice's coming and going moves
    assert {(f.subject, f.relation, f.object, f.source) for f in facts} == {("vault", "has code", "4172", "vlm")}
    assert facts[0].start == 0.0 and facts[0].end == 45.0 and len(facts[0].segments) == len(base)


def test_a_text_only_vlm_is_asked_for_summaries_and_facts_but_not_captions_of_frames(home, notice_video):
    with ScriptedOpenAIServer(scripted, vision=False) as server:
        config = settings(home, models__ocr="none", **vlm_settings(server))
        ingest = Ingestor(Library(home), Models(config), config, FrameCache(1 << 20))
        result = ingest.ingest(notice_video)
        prompts = [" ".join(p.get("text", "") for m in r["messages"] for p in _parts(m)) for r in server.requests]
    video = result.video.id
    assert not any("Describe what happens" in p for p in prompts) and server.errors == []
    assert scripted({"messages": []}) not in {s.caption for s in ingest.episodic.segments(video, scale=10)}
    assert {s.caption for s in ingest.episodic.segments(video, scale=30)} == {"A summary of the notices."}
    assert {f.source for f in ingest.semantic.facts(video)} - {"motion"} == {"vlm"}  # motion's own facts aside


@pytest.mark.slow
@pytest.mark.parametrize(
    "reply, says",
    [
        ({"delay": 3.0}, "within 1 s"),  # times out
        ({"status": 500, "message": "model crashed"}, "HTTP 500"),  # errors
        ({"raw": "<html>not json</html>"}, "not JSON"),  # garbage
    ],
    ids=["timeout", "error", "garbage"],
)
def test_a_failing_vlm_falls_back_to_offline_captions(home, models, notice_video, reply, says):
    with ScriptedOpenAIServer(lambda request: reply) as server:
        config = settings(home, **vlm_settings(server))
        ingest = Ingestor(Library(home), Models(config), config, FrameCache(1 << 20))
        result = ingest.ingest(notice_video)
        asked = len(server.requests)
    assert result.video.status == "ready"
    assert asked == 3  # then the VLM is left out for the rest of the video
    assert sum(says in w for w in result.warnings) == 3
    assert "the VLM failed 3 times in a row" in result.warnings[-1]
    base = ingest.episodic.segments(result.video.id, scale=10)
    assert segment_holding(base, 14.0).caption.startswith(f'On screen: "{NOTICE}".')
    facts = ingest.semantic.facts(result.video.id)
    assert {f.source for f in facts} - {"motion"} == {"ocr"} and NOTICE in {f.object for f in facts}


def test_vlm_facts_that_are_not_json_are_skipped_with_a_warning(home, notice_video):
    def replies(request: dict) -> str:
        return "I think there is a vault." if request.get("response_format") else scripted(request)

    with ScriptedOpenAIServer(replies) as server:
        config = settings(home, models__ocr="none", **vlm_settings(server))
        ingest = Ingestor(Library(home), Models(config), config, FrameCache(1 << 20))
        result = ingest.ingest(notice_video)
    assert result.video.status == "ready"
    assert any("VLM facts at 0 s failed" in w and "no JSON object" in w for w in result.warnings)
    assert "the VLM facts failed 3 times in a row" in result.warnings[-1]
    assert {f.source for f in ingest.semantic.facts(result.video.id)} == {"motion"}  # none from the VLM
    assert {s.caption for s in ingest.episodic.segments(result.video.id, scale=10)} == {scripted({"messages": []})}


# -- progress, concurrency, the command line ----------------------------------------------------


@pytest.mark.slow
def test_progress_reports_every_stage_in_order(home, models, notice_video):
    events: list[IngestProgress] = []
    ingestor(home, models, ingest__batch_frames=20).ingest(notice_video, progress=events.append)
    assert events[0].stage == "start" and events[-1].stage == "done"
    assert [name for name, _ in events[0].stages] == ["decode", "ocr", "motion", "commit"]
    commits = [e.done for e in events if e.stage == "commit"]
    assert commits == [20.0, 40.0, 45.0]
    for earlier, later in itertools.pairwise(events):
        assert all(a <= b for (_, a), (_, b) in zip(earlier.stages, later.stages))
        assert earlier.elapsed <= later.elapsed
    for event in events[:-1]:
        positions = dict(event.stages)
        assert positions["commit"] <= min(positions["ocr"], positions["motion"]) and event.done == positions["commit"]
        assert max(positions["ocr"], positions["motion"]) <= positions["decode"]
    assert events[-1].done == events[-1].total == 45.0 and events[-1].eta is None


def test_two_threads_ingesting_one_video_make_one(home, models, notice_video):
    ingest = ingestor(home, models)
    results = []
    threads = [threading.Thread(target=lambda: results.append(ingest.ingest(notice_video))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.already_done for r in results) == [False, True]
    assert [v.id for v in ingest.library.videos()] == [results[0].video.id]
    assert len(ingest.episodic.segments(results[0].video.id, scale=10)) == 5


@pytest.mark.slow
def test_cli_ingest_with_sample_fps_and_scales(home, notice_video):
    from evals.cli import cli

    env = {"LONGSHOT_HOME": str(home)} | {f"LONGSHOT_{k.upper()}": "none" for k in OFFLINE if k.startswith("models__")}
    run = CliRunner().invoke(cli, ["ingest", str(notice_video), "--sample-fps", "2", "--scales", "20,40"], env=env)
    assert run.exit_code == 0, run.output
    assert "ingested in" in run.stdout and "decode" in run.stderr and "1/1 videos, 0:45 of 0:45 video" in run.stderr
    video = Library(home).video(notice_video.name)
    assert video.sample_fps == 2.0 and video.frames == 90 and video.settings["scales"] == [20.0, 40.0]
    episodic = EpisodicMemory(Library(home), None)
    assert [(s.start, s.end) for s in episodic.segments(video.id, scale=40)] == [(0, 40), (40, 45)]
    again = CliRunner().invoke(cli, ["ingest", str(notice_video)], env=env)
    assert again.exit_code == 0 and "already in the library" in again.stdout


@pytest.mark.slow
def test_segments_keep_frames_nearest_to_their_grid_times(home, models, tmp_path):
    """29.97 fps: the frame nearest 30 s shows at 29.99 s, but belongs to the batch from 30 s on,
    and must not overwrite the segment before it."""
    path = tmp_path / "ntsc.mp4"
    make_video(tmp_path / "src.mp4", seconds=40, fps=10, texts=[(21.0, 29.0, NOTICE)])
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            tmp_path / "src.mp4",
            "-r",
            "30000/1001",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            path,
        ],
        check=True,
    )
    ingest = ingestor(home, models, ingest__batch_frames=10)
    video = ingest.ingest(path).video
    base = ingest.episodic.segments(video.id, scale=10)
    assert NOTICE in base[2].ocr_text and len(base[2].keyframes) == 3
    assert np.all(np.diff(ingest.frame_store(video).times) > 0)


def test_parent_captions_put_what_was_said_and_shown_before_scene_changes():
    children = [f"Scene changes at {i}:00, {i}:01, {i}:02 and 9 more." for i in range(40)]
    children += [
        "Speech: the vault code is 4172. Thank you.",
        'On screen: "EXIT". Speech: Thank you.',
        "No text, speech or known objects at 7:00-7:10.",
    ]
    assert merge_captions(children) == (
        'Speech: the vault code is 4172. Thank you. On screen: "EXIT". Speech: Thank you. Scene changes in 40 of 43 parts.'
    )
    assert merge_captions(["No text, speech or known objects at 0:00-0:10."]) == "No text, speech or known objects."
