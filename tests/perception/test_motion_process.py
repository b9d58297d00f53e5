"""The analyser in its own process: the same observations as in this one, span after span from
several threads at once; a bad span refused here; a child that dies, hangs or cannot start leaves
the rest to this process, with nothing lost."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from perception.errors import FrameSequenceError
from perception.motion import MotionAnalyser, MotionProcess
from perception.motion import process as motion_process
from tests.motion_media import COLOURS, Mover, camera, scene, texture

SIZE = (448, 252)
SPAN = 10


@pytest.fixture(scope="module")
def clip() -> tuple[np.ndarray, np.ndarray]:
    """40 s of a room visited twice at non-integer seconds, then a camera panning over it."""
    times = np.arange(0.0, 30.0)
    room = texture(*SIZE, seed=5)
    movers = [
        Mover(COLOURS["red"], (0.25, 0.5), radius=0.11, since=3.4, until=11.8, wander=0.03),
        Mover(COLOURS["blue"], (0.7, 0.45), radius=0.1, since=16.3, until=24.9, wander=0.03),
    ]
    visits = scene(room, movers, times, noise=3.0, seed=5)
    pan = camera(texture(1400, 500, seed=6), SIZE, np.arange(0.0, 10.0), pan=0.1, noise=3.0, seed=6)
    return np.concatenate([visits, pan]), np.arange(0.0, 40.0)


def spans(frames: np.ndarray, times: np.ndarray) -> list[tuple[np.ndarray, list[float], tuple | None]]:
    """The clip as ingest hands it over: spans of SPAN frames, each with the span before's last frame."""
    out = []
    for at in range(0, len(frames), SPAN):
        previous = (frames[at - 1], float(times[at - 1])) if at else None
        out.append((frames[at : at + SPAN], times[at : at + SPAN].tolist(), previous))
    return out


def test_the_child_finds_what_this_process_finds_span_by_span_from_several_threads(clip):
    analyser = MotionAnalyser()
    expected = [analyser.analyse(*span).observations for span in spans(*clip)]
    motion = MotionProcess(analyser)
    try:
        with ThreadPoolExecutor(3) as pool:
            found = list(pool.map(lambda span: motion.observations(*span), spans(*clip)))
        assert motion.separate
        pid = motion._child.process.pid
    finally:
        motion.close()
    assert found == expected
    assert any(o.modality == "activity" for span in found for o in span)
    assert any(o.modality == "camera" for span in found for o in span)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # close ended the child


def test_a_bad_span_is_refused_here_and_the_child_serves_the_next(clip):
    frames, times = clip
    motion = MotionProcess()
    try:
        with pytest.raises(FrameSequenceError):
            motion.observations(frames[:5], [0.0, 1.0, 1.0, 2.0, 3.0])  # times that do not increase
        with pytest.raises(FrameSequenceError):
            motion.observations(frames[:5].astype(np.float32), times[:5].tolist())
        expected = MotionAnalyser().analyse(frames[:SPAN], times[:SPAN]).observations
        assert motion.observations(frames[:SPAN], times[:SPAN].tolist()) == expected
        assert motion.separate
    finally:
        motion.close()


def test_a_child_that_dies_leaves_the_rest_of_the_run_to_this_process(clip):
    analyser = MotionAnalyser()
    every = spans(*clip)
    motion = MotionProcess(analyser)
    try:
        first = motion.observations(*every[0])
        os.kill(motion._child.process.pid, signal.SIGKILL)
        rest = [motion.observations(*span) for span in every[1:]]
        assert not motion.separate
    finally:
        motion.close()
    assert [first, *rest] == [analyser.analyse(*span).observations for span in every]


def test_a_child_that_cannot_start_leaves_every_span_to_this_process(clip, monkeypatch):
    monkeypatch.setattr(motion_process.sys, "executable", "/nonexistent/python")
    [span, *_] = spans(*clip)
    motion = MotionProcess()
    try:
        assert motion.observations(*span) == MotionAnalyser().analyse(*span).observations
        assert not motion.separate
    finally:
        motion.close()


def test_a_child_that_hangs_is_given_up_and_killed_and_its_span_analysed_here(clip, monkeypatch):
    monkeypatch.setattr(motion_process, "ANSWER_S", 0.5)
    monkeypatch.setattr(motion_process, "STOP_S", 0.5)
    first, second, *_ = spans(*clip)
    motion = MotionProcess()
    try:
        motion.observations(*first)
        child = motion._child.process
        os.kill(child.pid, signal.SIGSTOP)  # alive, and never answering
        assert motion.observations(*second) == MotionAnalyser().analyse(*second).observations
        assert not motion.separate
        assert child.poll() is not None  # killed, not left stopped
    finally:
        motion.close()
