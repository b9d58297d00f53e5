"""Motion through ingest: a recorded, noisy, still room with visits at random seconds (one across a
batch boundary) comes back as activity occurrences at the visits' times, one per visit, with
stillness between; captions and facts tell of them; a resumed ingest writes the same memory; and
with motion off, none of it is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memory.audit import snapshot
from memory.build import Ingestor
from memory.frames import FrameCache
from memory.ingest.tracker import IngestProgress
from memory.store import Library
from memory.working import Budget, WorkingMemory
from perception.models import Models
from tests.fakes.openai_server import ScriptedOpenAIServer
from tests.memory.test_build import _parts, ingestor, scripted, settings, vlm_settings
from tests.motion_media import COLOURS, Mover, scene, texture, write_video

SECONDS = 70
VISITS = [(8.3, 14.7), (26.4, 37.9), (52.2, 55.1)]  # the second crosses the batch boundary at 30 s
SIZE = (448, 252)


@pytest.fixture(scope="module")
def room(tmp_path_factory) -> Path:
    rng = np.random.default_rng(7)
    background = texture(*SIZE, seed=7)
    colours = list(COLOURS.values())
    people = [
        Mover(colours[i], (rng.uniform(0.25, 0.75), 0.5), radius=0.11, since=a, until=b, wander=0.02)
        for i, (a, b) in enumerate(VISITS)
    ]
    noise = np.random.default_rng(8)
    path = tmp_path_factory.mktemp("media") / "room.mp4"

    def frame(t: float) -> np.ndarray:
        return scene(background, people, [t], noise=4.0, seed=int(noise.integers(1 << 30)))[0]

    return write_video(path, frame, SECONDS, 5)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Models:
    return Models(settings(tmp_path_factory.mktemp("unused"), models__ocr="none"))


def test_visits_become_one_activity_each_at_their_times_with_stillness_between(home, models, room):
    ingest = ingestor(home, models, models__ocr="none")
    video = ingest.ingest(room).video.id
    runs = ingest.timeline.between(video, 0, SECONDS, modalities=("activity",))
    assert len(runs) == len(VISITS)
    for run, (start, end) in zip(runs, VISITS):
        assert abs(run.start - start) <= 1 and abs(run.end - end) <= 1, run.text
        assert run.data["colour"] in COLOURS and 0.02 < run.data["share"] < 0.2
    still = ingest.timeline.between(video, 0, SECONDS, modalities=("stillness",))
    assert len(still) == len(VISITS) + 1 and still[0].start == 0 and still[-1].end >= SECONDS - 1.5
    assert ingest.timeline.at(video, 33.0, modalities=("activity",)) == [runs[1]]  # one run across the batches
    assert "no activity" in ingest.timeline.search(video, "when is there no activity", k=1)[0].occurrence.text

    captions = {s.start: s.caption for s in ingest.episodic.segments(video, scale=10)}
    assert captions[0.0].startswith("Activity: a ") and "at 0:08" in captions[0.0]
    assert captions[40.0].startswith("No activity from 0:3")
    facts = [f for f in ingest.semantic.facts(video) if f.source == "motion"]
    assert [(f.start, f.end) for f in facts] == [(o.start, o.end) for o in runs]  # a fact per visit, at its times
    assert all(f.subject.endswith("region") and f.relation == "moves" for f in facts)


def test_a_resumed_ingest_writes_the_memory_an_uninterrupted_one_does(tmp_path, models, room):
    reference = tmp_path / "reference"
    whole = ingestor(reference, models, models__ocr="none").ingest(room)

    class Stop(Exception):
        pass

    def stop_after_first_batch(event: IngestProgress) -> None:
        if event.stage == "commit" and event.done >= 30:
            raise Stop

    resumed_home = tmp_path / "resumed"
    with pytest.raises(Stop):
        ingestor(resumed_home, models, models__ocr="none").ingest(room, progress=stop_after_first_batch)
    resumed = ingestor(resumed_home, models, models__ocr="none").ingest(room)
    assert resumed.resumed_from == 30 and resumed.video.status == "ready"
    assert snapshot(resumed_home, resumed.video.id) == snapshot(reference, whole.video.id)


def test_with_motion_off_there_is_no_motion_in_memory(home, models, room):
    ingest = ingestor(home, models, models__ocr="none", ingest__motion=False)
    result = ingest.ingest(room)
    assert "motion" not in result.stage_seconds
    assert ingest.timeline.between(result.video.id, 0, SECONDS, modalities=("activity", "stillness", "camera")) == []
    assert not any("ctivity" in s.caption for s in ingest.episodic.segments(result.video.id))


def test_working_memory_picks_frames_where_something_happens(home, models, room):
    ingest = ingestor(home, models, models__ocr="none")
    record = ingest.ingest(room).video
    runs = ingest.timeline.between(record.id, 0, SECONDS, modalities=("activity",))
    peaks = [run.data["peak_time"] for run in runs]  # where the moving region was largest
    assert all(run.start - 0.5 <= peak <= run.end + 0.5 for run, peak in zip(runs, peaks))
    moments = sorted({run.start + 0.5 for run in runs} | set(peaks))  # a short visit's onset may be its peak
    store = ingest.frame_store(record)
    looking = WorkingMemory(ingest.episodic, ingest.visual, lambda video: store, timeline=ingest.timeline)
    picks = looking.select_frames(record.id, "who comes in", [(0, SECONDS)], Budget(k=len(moments)))
    assert len(picks) == len(moments)
    assert all(abs(pick.time - moment) <= 0.5 for pick, moment in zip(picks, moments))
    blind = WorkingMemory(ingest.episodic, ingest.visual, lambda video: store)  # no timeline: nothing to prefer
    assert [p.time for p in blind.select_frames(record.id, "who comes in", [(0, SECONDS)], Budget(k=len(moments)))] != [
        p.time for p in picks
    ]


def test_a_vlm_captioning_a_segment_is_told_what_moved_in_it(home, room):
    with ScriptedOpenAIServer(scripted) as server:
        config = settings(home, models__ocr="none", **vlm_settings(server))
        Ingestor(Library(home), Models(config), config, FrameCache(1 << 20)).ingest(room)
    prompts = [
        " ".join(p["text"] for m in r["messages"] for p in _parts(m) if p.get("type") == "text")
        for r in server.requests
        if not r.get("response_format")
    ]
    captioning = [p for p in prompts if "You are watching 0:00-0:10" in p]
    assert captioning and "Activity: a " in captioning[0] and "at 0:08" in captioning[0]
