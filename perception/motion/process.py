"""The motion analyser in a process of its own, for a caller whose other threads are busy.

Each pair of frames takes the analyser some forty OpenCV and numpy calls, and most give up the GIL
and wait to take it back (every OpenCV call does, and numpy's on whole frames). Run in one of
ingest's threads, that doubled the context switches of every other thread on the needle hour, and
motion cost ingest 4-6 CPU s for the 1.6-1.8 s of its own work; the same analysis in another
process left ingest's threads as they were. So frames are shrunk to the working width here (two
resizes a frame) and sent, 1.3 MB a span instead of 10, to one child process, which any number of
threads may share, one span at a time. The child's answer is the in-thread analyser's, to the bit:
it prepares the shrunk frames as it would have the originals.

The child is a fresh interpreter running this module (not multiprocessing's spawn or forkserver,
which import the caller's main script again, and a script without a main guard would run twice).
If it cannot start, dies or hangs, the rest of the run is analysed in this process, as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection

import cv2
import numpy as np

from perception.motion.analyser import MotionAnalyser, checked_span
from perception.motion.pairs import shrink
from perception.motion.records import Observation
from perception.motion.settings import MotionSettings

Previous = tuple[np.ndarray, float] | None  # the previous span's last frame and its time
_CHILD = "import sys; from perception.motion.process import serve_pipes; serve_pipes(*sys.argv[1:])"
STOP_S = 5.0  # how long a child told to stop may take before it is killed
ANSWER_S = 120.0  # a span takes it tens of milliseconds; one that takes this long is a hung child


class MotionProcess:
    """`MotionAnalyser.analyse(...).observations`, computed in a child process started on first use;
    `close` stops it."""

    def __init__(self, analyser: MotionAnalyser | None = None):
        self.analyser = analyser or MotionAnalyser()
        self._child: _Child | None = None
        self._failed = False  # the child could not start, died or hung: analyse here from now on
        self._lock = threading.Lock()

    @property
    def separate(self) -> bool:
        """Whether spans are (still) analysed in a process of their own."""
        return not self._failed

    def observations(self, frames: np.ndarray, times: Sequence[float], previous: Previous = None) -> tuple[Observation, ...]:
        """The observations of a span's frames ((N, H, W, 3) uint8 RGB at increasing `times`), seen from
        `previous` (the span before's last frame and its time), as `MotionAnalyser.analyse` finds them."""
        checked_span(frames, times, previous)  # a bad span fails here, as in the analyser, before it is shrunk
        width = self.analyser.settings.width
        small = np.stack([shrink(frame, width) for frame in frames])
        before = None if previous is None else (shrink(np.asarray(previous[0]), width), float(previous[1]))
        request = (self.analyser.settings, small, [float(t) for t in times], before)
        with self._lock:
            if not self._failed:
                try:
                    self._child = self._child or _Child()
                    return self._child.ask(request)
                except (OSError, EOFError):
                    self._failed = True
                    self._stop()
        return self.analyser.analyse(small, times, before).observations

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop()


class _Child:
    """A running child and the two pipes to it."""

    def __init__(self) -> None:
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        command = [sys.executable, "-c", _CHILD, str(child_reads), str(child_writes)]
        try:
            self.process = subprocess.Popen(command, pass_fds=(child_reads, child_writes), stdin=subprocess.DEVNULL)
        except BaseException:
            for fd in (child_reads, parent_writes, parent_reads, child_writes):
                os.close(fd)
            raise
        os.close(child_reads)
        os.close(child_writes)
        self.requests = Connection(parent_writes, readable=False)
        self.replies = Connection(parent_reads, writable=False)

    def ask(self, request: tuple) -> tuple[Observation, ...]:
        """The child's answer; a child that takes ANSWER_S over it (taking the request or giving the
        answer) is killed, which ends the wait with EOFError or BrokenPipeError."""
        watchdog = threading.Timer(ANSWER_S, self.process.kill)
        watchdog.start()
        try:
            self.requests.send(request)
            ok, answer = self.replies.recv()
        finally:
            watchdog.cancel()
        if not ok:
            raise answer
        return answer

    def stop(self) -> None:
        """Closing the requests pipe tells the child to end; one that does not is killed."""
        self.requests.close()
        self.replies.close()
        try:
            self.process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve_pipes(reading: str, writing: str) -> None:
    """The child: analyse each span asked for on the pipe `reading`, answering on `writing`, until the
    parent closes its end."""
    requests, replies = Connection(int(reading), writable=False), Connection(int(writing), readable=False)
    cv2.setNumThreads(1)  # OpenCV on the calling thread, as in ingest (see memory/ingest/perceive.py)
    while True:
        try:
            settings, frames, times, previous = requests.recv()
        except EOFError:
            return
        try:
            answer: tuple[bool, object] = (True, _observe(settings, frames, times, previous))
        except Exception as err:  # the parent raises it, as the analyser would have there
            answer = (False, err)
        replies.send(answer)


def _observe(settings: MotionSettings, frames: np.ndarray, times: list[float], previous: Previous) -> tuple[Observation, ...]:
    return MotionAnalyser(settings).analyse(frames, times, previous).observations
