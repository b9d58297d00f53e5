"""`longshot bench decode VIDEO`: how fast ingest's 1 fps sampling runs, against the floor.

The floor is what PyAV must decode, converting nothing to RGB, to reach the frames the
sampler returns, measured two ways in the same call on the same span: every frame of each
keyframe group that holds a sampled frame (a reader that never seeks), and only the packets
up to the last sampled frame of each such group (a reader that seeks perfectly). The faster
is the floor. `speed_vs_floor` is floor time over sampling time: 1.0 means sampling runs as
fast as decoding allows; timing both in one call keeps the ratio fair on a busy machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import av
import numpy as np

from evals.bench.common import print_figures, time_base
from perception.video import VideoReader, probe


def run(video: str | Path, fps: float = 1.0, seconds: float | None = None, batch_size: int = 32) -> dict[str, Any]:
    """Sample `video` (its first `seconds`, default all) at `fps`, then measure the floor."""
    video = Path(video)
    info = probe(video)
    span = float(info.duration if seconds is None else min(seconds, info.duration))

    started = time.perf_counter()
    with VideoReader(video) as reader:
        opened = time.perf_counter()
        sampled = sum(len(batch) for batch in reader.sample(fps=fps, batch_size=batch_size, end=span))
        backend, skipped = reader.backend, reader.skipped
    finished = time.perf_counter()
    sample_s = finished - started

    floors = {}
    for name, only_needed in (("every_frame", False), ("needed_frames", True)):
        floor_started = time.perf_counter()
        decoded = decode_floor(video, fps, span, only_needed)
        floors[name] = (time.perf_counter() - floor_started, decoded)
    floor_name = min(floors, key=lambda name: floors[name][0])
    floor_s = floors[floor_name][0]

    return {
        "video": video.name,
        "resolution": f"{info.width}x{info.height}",
        "codec": info.codec,
        "video_s": span,
        "sample_fps": fps,
        "backend": backend,
        "frames_sampled": sampled,
        "frames_skipped": skipped,
        "open_s": opened - started,
        "sample_s": sample_s,
        "sampled_frames_per_s": sampled / sample_s,
        "video_s_per_wall_s": span / sample_s,
        "floor_every_frame_s": floors["every_frame"][0],
        "floor_every_frame_decoded": floors["every_frame"][1],
        "floor_needed_frames_s": floors["needed_frames"][0],
        "floor_needed_frames_decoded": floors["needed_frames"][1],
        "floor": floor_name,
        "floor_video_s_per_wall_s": span / floor_s,
        "speed_vs_floor": floor_s / sample_s,
    }


def decode_floor(video: Path, fps: float, span: float, only_needed: bool) -> int:
    """Frames PyAV decodes to reach every frame nearest a grid time k/fps in [0, span).

    Groups (keyframe to keyframe) without such a frame are skipped. Within a group that has
    one, `only_needed` decodes the packets up to the last needed frame in decode order, then
    drains and resets the decoder; otherwise it decodes the whole group, as a reader that
    never seeks does.
    """
    decoded = 0
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = float(time_base(stream))
        for start, end, packets in _keyframe_groups(container, stream, span):
            grid = np.arange(math.ceil(start * fps - 1e-9), math.ceil(end * fps - 1e-9)) / fps
            if not len(grid):
                continue
            if not only_needed:
                decoded += sum(len(stream.decode(packet)) for packet in packets)
                continue
            shown = np.array([-1.0 if p.pts is None else p.pts * base for p in packets])
            needed = {int(np.argmin(np.abs(shown - t))) for t in grid}
            decoded += sum(len(stream.decode(packet)) for packet in packets[: max(needed) + 1])
            decoded += len(stream.decode(None))
            stream.codec_context.flush_buffers()
        if not only_needed:
            decoded += len(stream.decode(None))
    return decoded


def _keyframe_groups(
    container: av.container.InputContainer, stream: av.VideoStream, span: float
) -> Iterator[tuple[float, float, list[av.Packet]]]:
    """(start, end, packets) of each group from one keyframe to the next, up to `span` seconds."""
    base = float(time_base(stream))
    origin = (container.start_time or 0) / av.time_base
    start = 0.0
    packets: list[av.Packet] = []
    for packet in container.demux(stream):
        if packet.size == 0:  # the demuxer's flush packet
            continue
        when = None if packet.pts is None else packet.pts * base - origin
        if packet.is_keyframe and when is not None:
            if packets:
                yield start, min(when, span), packets
            start, packets = when, []
            if when >= span:
                return
        packets.append(packet)
    if packets:
        yield start, span, packets


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    print_figures("bench decode: 1 fps sampling against the decode floor", figures, file)
