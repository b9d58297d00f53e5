"""What the benchmarks share: a long video made from a short one, peak memory measured in a
process of its own, and printing a dict of figures."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

import av
import psutil

from perception.errors import UnreadableVideoError

MB = 2**20
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(tempfile.gettempdir()) / "longshot-bench"


def make_long_video(src: str | Path, seconds: float, out: str | Path | None = None) -> Path:
    """`src` looped to `seconds` long, by copying its compressed video packets (no re-encoding).

    Made once: later calls with the same source and length return the file already made
    (by default under CACHE_DIR). Only the video stream is kept. The cut falls on the first
    keyframe at or after `seconds`, so every frame kept can be decoded.
    """
    src = Path(src)
    if out is None:
        out = CACHE_DIR / f"{src.stem}-{src.stat().st_size}-{round(seconds)}s.mp4"
    out = Path(out)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp.mp4")
    try:
        _loop_packets(src, seconds, temp)
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)
    return out


def _loop_packets(src: Path, seconds: float, out: Path) -> None:
    with av.open(str(src)) as first_pass:
        stream = first_pass.streams.video[0]
        packets = [(p.pts, p.duration or 0) for p in first_pass.demux(stream) if p.pts is not None]
    start = min(pts for pts, _ in packets)
    loop_length = max(pts + duration for pts, duration in packets) - start
    with av.open(str(out), "w") as output:
        loop = 0
        while True:
            with av.open(str(src)) as source:
                stream = source.streams.video[0]
                if loop == 0:
                    target = output.add_stream_from_template(stream)
                limit = seconds / time_base(stream)
                for packet in source.demux(stream):
                    if packet.pts is None or packet.dts is None:
                        continue
                    shift = loop * loop_length - start
                    if packet.is_keyframe and packet.pts + shift >= limit:
                        return
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = target
                    output.mux(packet)
            loop += 1


def time_base(stream: av.stream.Stream) -> Fraction:
    """The stream's time base: PyAV types it optional (an output stream lacks one until muxing
    starts), but a stream demuxed from a file has one."""
    if stream.time_base is None:
        raise UnreadableVideoError(f"stream {stream.index} of {stream.container.name} has no time base")
    return stream.time_base


def measure_in_child(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run a module-level `function(*args)` in a fresh Python and add its peak RSS to its dict.

    The child is a plain `python -c`, so it works whatever the caller's main module is;
    arguments and result travel as JSON (paths as strings). The peak is reset after the
    child has imported what it needs (Linux clear_refs), so `rss_growth_mb` is what the
    function itself took at its worst, above `rss_before_mb`; elsewhere it may include
    the child's start-up.
    """
    call = {"module": function.__module__, "name": function.__qualname__, "args": [_jsonable(a) for a in args]}
    done = subprocess.run(
        [sys.executable, "-c", "from evals.bench.common import child_main; child_main()"],
        input=json.dumps(call),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    if done.returncode:
        raise RuntimeError(f"benchmark child {call['module']}.{call['name']} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main() -> None:
    """The child's side of `measure_in_child`: read the call from stdin, print the result."""
    call = json.loads(sys.stdin.read())
    function = getattr(importlib.import_module(call["module"]), call["name"])
    before = psutil.Process().memory_info().rss
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset the peak to the current RSS
    except OSError:
        pass  # not Linux: the peak may include the child's start-up
    with _ChildrenPeak() as children:
        result = function(*call["args"])
    peak = _peak_rss() + children.peak  # its children's too (ingest's motion process), as if at one moment
    sizes = {"rss_before_mb": before / MB, "rss_peak_mb": peak / MB, "rss_growth_mb": (peak - before) / MB}
    print(json.dumps({**result, **sizes, "rss_children_peak_mb": children.peak / MB}))


class _ChildrenPeak:
    """The largest RSS this process's children held together, sampled every 50 ms while in the block.
    Sampled, because a child's own peak is not to be had once it has ended: its ru_maxrss keeps the
    peak of the process that forked it."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _ChildrenPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.05):
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # it ended between the listing and the reading
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)


def _peak_rss() -> int:
    """This process's peak RSS in bytes. Linux: VmHWM, which clear_refs resets; ru_maxrss is no
    use there, as it keeps the peak of the process that exec'd us (the parent, after fork)."""
    try:
        with open("/proc/self/status") as handle:
            line = next(line for line in handle if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # macOS: bytes


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def median_ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000 if seconds else float("nan")


def print_figures(title: str, figures: dict[str, Any], file: TextIO | None = None) -> None:
    """One `name  value` line per figure, numbers rounded to what is worth reading."""
    file = file or sys.stdout
    print(title, file=file)
    width = max(map(len, figures), default=0)
    for name, value in figures.items():
        print(f"  {name:<{width}}  {_shown(value)}", file=file)


def _shown(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
