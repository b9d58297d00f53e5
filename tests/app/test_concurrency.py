"""Concurrent use of one library: questions from many threads while a video is being ingested, and
processes ingesting different videos into one home at once.

The property for questions during ingest, stated exactly: let c0 be the video's committed_until read
just before a question and c1 the value read just after its answer. Asked with until=c0, no evidence
(segment, fact, frame) ends after c0; asked with no limit, none ends after c1 (the question reads the
committed state once, at some moment between). Every segment cited exists in the catalogue with the
times the evidence gives, and every frame cited is among the frames committed by c1. No user-facing
call fails, except VideoNotFoundError before the video's first commit.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app import Longshot
from evals.bench.ingest_child import IngestChild
from memory.audit import problems, snapshot
from perception.errors import VideoNotFoundError
from tests.synth import make_video

pytestmark = pytest.mark.slow

TIME_EPS = 1e-3  # times are stored to the millisecond
ASKERS = 6
SETTINGS = {
    "models__speech": "none",
    "models__detector": "none",
    "models__image_embedding": "none",
    "ingest__batch_frames": 10,
    "ingest__scales": (30.0, 60.0),
}
QUESTIONS = [
    ("What code is shown on screen?", ()),
    ("Which gate is closed?", ("Gate A", "Gate B7", "Gate C", "No gate")),
    ("When does the vault code appear?", ()),
]


@pytest.fixture(scope="module")
def long_notices(tmp_path_factory) -> Path:
    texts = [
        (20 + 40 * k, 26 + 40 * k, text)
        for k, text in enumerate(["VAULT CODE 4172", "GATE B7 CLOSED", "EXIT 12 OPEN", "PLATFORM 9", "ROOM 221B"])
    ]
    return make_video(tmp_path_factory.mktemp("media") / "long-notices.mp4", seconds=200, fps=2, size=(320, 180), texts=texts)


def _segment_row(longshot: Longshot, segment_id: int):
    return longshot.library.connect().execute('SELECT start, "end" FROM segments WHERE id = ?', (segment_id,)).fetchone()


def test_questions_during_ingest_see_only_committed_memory(long_notices: Path, tmp_path: Path):
    longshot = Longshot(home=tmp_path / "home", **SETTINGS)
    longshot.models.text_embedder, longshot.models.ocr  # loaded before the race starts
    failures: list[str] = []
    checked: list[tuple[float, float, int]] = []  # (c0, c1, evidence items)
    ingest_done = threading.Event()

    def ingest() -> None:
        try:
            longshot.ingest(long_notices)
        except BaseException as err:
            failures.append(f"ingest: {err!r}")
        finally:
            ingest_done.set()

    def ask(worker: int) -> None:
        turn = 0
        while not ingest_done.is_set() or turn < 2:
            question, options = QUESTIONS[(worker + turn) % len(QUESTIONS)]
            limited = (worker + turn) % 2 == 0
            turn += 1
            try:
                before = longshot.video(long_notices.name)
            except VideoNotFoundError:
                time.sleep(0.05)  # not registered before its first commit
                continue
            try:
                answer = longshot.ask(before.id, question, options, until=before.committed_until if limited else None)
                after = longshot.video(before.id)
            except Exception as err:
                failures.append(f"asker {worker}: {err!r}")
                return
            bound = before.committed_until if limited else after.committed_until
            for item in answer.evidence:
                if item.end > bound + TIME_EPS:
                    failures.append(f"{question!r} {item.kind} ends at {item.end} after {bound} (limited={limited})")
                if item.kind == "segment":
                    row = _segment_row(longshot, int(item.key.split(":")[1]))
                    if row is None or (abs(row[0] - item.start) > TIME_EPS or abs(row[1] - item.end) > TIME_EPS):
                        failures.append(f"segment {item.key} cited as {item.start}-{item.end}, stored as {row and tuple(row)}")
                for ref in item.frames:
                    if ref.index >= after.frames or ref.time > bound + 1.0:
                        failures.append(f"frame {ref.index} at {ref.time} s cited; {after.frames} committed up to {bound}")
            if answer.span is not None and answer.span[1] > bound + TIME_EPS:
                failures.append(f"span {answer.span} ends after {bound}")
            checked.append((before.committed_until, after.committed_until, len(answer.evidence)))

    threads = [threading.Thread(target=ingest, name="ingest")]
    threads += [threading.Thread(target=ask, args=(i,), name=f"asker-{i}") for i in range(ASKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert failures == []
    duration = longshot.video(long_notices.name).duration
    assert any(0 < c0 < duration for c0, _, _ in checked)  # questions did land mid-ingest
    assert sum(n for _, _, n in checked) > 0
    print(f"\n{len(checked)} questions during ingest, {sum(c0 < duration for c0, _, _ in checked)} before it ended")


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("media")
    return [
        make_video(folder / "first.mp4", seconds=90, fps=2, size=(320, 180), texts=[(30, 36, "VAULT CODE 4172")]),
        make_video(folder / "second.mp4", seconds=80, fps=3, size=(320, 180), texts=[(50, 56, "GATE B7 CLOSED")]),
    ]


def test_two_processes_ingesting_different_videos_into_one_library_lose_nothing(two_videos, tmp_path: Path):
    settings = dict(SETTINGS, models__text_embedding="none")
    home = tmp_path / "shared"
    workers = [IngestChild(home, settings) for _ in two_videos]
    reader = Longshot(home=home, **SETTINGS)
    reader.models.text_embedder
    errors: list[str] = []
    asked: list[float] = []
    try:
        for worker in workers:
            worker.start()
        for worker, video in zip(workers, two_videos):
            worker.send(video)
        stop = threading.Event()

        def read() -> None:  # a third party reading and asking while both write
            while not stop.is_set():
                try:
                    for record in reader.videos():
                        reader.ask(record.id, "What code is shown on screen?")
                        asked.append(record.committed_until)
                except Exception as err:
                    errors.append(repr(err))
                    return

        reading = threading.Thread(target=read)
        reading.start()
        results = [worker.result(600) for worker in workers]
        stop.set()
        reading.join(timeout=300)
    finally:
        for worker in workers:
            worker.close()
    assert all(r["outcome"] == "ok" and r["status"] == "ready" for r in results), results
    assert errors == [] and asked
    assert problems(home) == []
    assert {v.name for v in reader.videos()} == {"first.mp4", "second.mp4"}

    for video, result in zip(two_videos, results):  # each as if it had been ingested alone
        alone = tmp_path / f"alone-{video.stem}"
        Longshot(home=alone, **settings).ingest(video)
        assert snapshot(home, result["video"]) == snapshot(alone, result["video"]), video.name
