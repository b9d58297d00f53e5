"""Ingest in a child process, so a test or a benchmark can bound it in time, kill it, or survive its crash.

The child (`python -m evals.bench.ingest_child HOME OVERRIDES_JSON`) reads one path per
line on stdin, ingests it, and answers one JSON line per path: the outcome, the error's type
and whether it is a LongshotError. It prints {"ready": true} once its imports are done and its
models loaded, and
{"started": path} before each ingest, so a parent can time a kill from the real start.

`IngestChild` is the parent's side: `ingest(path, timeout)` returns the child's answer, or
{"outcome": "hang"} after killing a child that overran, or {"outcome": "crash"} with the
exit code and the end of stderr when the child died; the next call starts a fresh child.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, BinaryIO

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120.0  # imports on a busy machine


class IngestChild:
    """A child process that ingests paths into `home` with config `overrides` (dotted keys as `models__ocr`)."""

    def __init__(self, home: Path, overrides: dict[str, Any]):
        self.home = Path(home)
        self.overrides = overrides
        self.process: subprocess.Popen[bytes] | None = None
        self._stderr: BinaryIO | None = None

    def start(self) -> None:
        """Start the child and wait until its imports are done."""
        if self.process is not None:
            return
        self.home.parent.mkdir(parents=True, exist_ok=True)
        self._stderr = open(self.home.parent / f"worker-{os.getpid()}-{time.monotonic_ns()}.stderr", "w+b")  # noqa: SIM115 (closed in stop)
        env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", PYTHONFAULTHANDLER="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "evals.bench.ingest_child", str(self.home), json.dumps(self.overrides)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        line = self._line(START_TIMEOUT_S)
        if line is None or not line.get("ready"):
            tail = self.stderr_tail()
            self.kill()
            raise RuntimeError(f"ingest worker did not start: {line}; stderr: {tail}")

    def send(self, path: Path) -> None:
        """Ask the running child to ingest `path`; returns once it says it has started."""
        self.start()
        self.queue(path)
        line = self._line(START_TIMEOUT_S)
        if line is None or "started" not in line:
            raise RuntimeError(f"ingest worker did not start on {path}: {line}; stderr: {self.stderr_tail()}")

    def queue(self, path: Path) -> None:
        """Add `path` behind what the running child is ingesting, without waiting for anything."""
        stdin = self._pipe(self._running().stdin)
        stdin.write(f"{path}\n".encode())
        stdin.flush()

    def result(self, timeout: float) -> dict[str, Any]:
        """The child's answer to the path sent, or a hang or crash record."""
        line = self._line(timeout)
        if line is not None:
            return line
        process = self._running()
        if process.poll() is None:
            self.kill()
            return {"outcome": "hang", "timeout": timeout}
        code, tail = process.returncode, self.stderr_tail()
        self.kill()
        return {"outcome": "crash", "returncode": code, "stderr": tail}

    def ingest(self, path: Path, timeout: float) -> dict[str, Any]:
        self.send(path)
        return self.result(timeout)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the child (and anything it started) and forget it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                self._pipe(pipe).close()
        self.process = None

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self._pipe(self.process.stdin).close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        if self._stderr is not None:
            self._stderr.close()

    def stderr_tail(self, size: int = 3000) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0, os.SEEK_END)
        length = self._stderr.tell()
        self._stderr.seek(max(0, length - size))
        return self._stderr.read().decode("utf-8", "replace")

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise RuntimeError("the ingest child is not running; start it first")
        return self.process

    @staticmethod
    def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
        assert pipe is not None, "the child is started with stdin and stdout piped"
        return pipe

    def __enter__(self) -> IngestChild:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _line(self, timeout: float) -> dict[str, Any] | None:
        """The next JSON line from the child within `timeout`; None on EOF or timeout."""
        stdout = self._pipe(self._running().stdout)
        deadline = time.monotonic() + timeout
        buffer = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([stdout], [], [], remaining)
            if not ready:
                return None
            byte = os.read(stdout.fileno(), 1)
            if not byte:
                return None
            if byte == b"\n":
                text = buffer.decode("utf-8", "replace").strip()
                buffer = b""
                if text.startswith("{"):
                    return json.loads(text)
                continue
            buffer += byte


def _main(home: str, overrides: str) -> None:
    import logging

    from app import Longshot
    from app.ingest_stage import load_ingest_models
    from perception.errors import LongshotError

    logging.basicConfig(level=logging.ERROR)
    longshot = Longshot(home=home, **json.loads(overrides))
    load_ingest_models(longshot.models)
    _say({"ready": True})
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        _say({"started": path})
        started = time.perf_counter()
        answer: dict[str, Any] = {"path": path}
        try:
            result = longshot.ingest(path)
        except Exception as err:  # the parent judges what kind of error it was
            answer.update(outcome="error", error=type(err).__name__, typed=isinstance(err, LongshotError), message=str(err)[:500])
        else:
            record = result.video
            answer.update(
                outcome="ok",
                video=record.id,
                status=record.status,
                frames=record.frames,
                committed_until=record.committed_until,
                duration=record.duration,
                warnings=list(result.warnings),
            )
        answer["seconds"] = time.perf_counter() - started
        _say(answer)


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
