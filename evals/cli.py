"""The full `longshot` command: the app's commands plus `eval` and `bench`.

They are mounted here, not in `app.cli`, because evaluation sits above the app in the
direction of imports.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from app.cli import cli, guarded

bench = typer.Typer(no_args_is_help=True, help="Measure speed and memory; prints figures (--json for one object).")
cli.add_typer(bench, name="bench")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object.")]
LoopOption = Annotated[
    float | None, typer.Option("--loop-to", help="First loop VIDEO to this many seconds (3600 makes the one-hour case).")
]


def _bench_video(video: Path, loop_to: float | None) -> Path:
    from evals.bench.common import make_long_video

    return make_long_video(video, loop_to) if loop_to else video


def _emit(figures: dict, as_json: bool, report) -> None:
    if as_json:
        typer.echo(json.dumps(figures, default=str))
    else:
        report(figures)


@bench.command("decode")
@guarded
def bench_decode(video: Path, fps: float = 1.0, loop_to: LoopOption = None, as_json: JsonOption = False) -> None:
    """Sampling speed against the decode-only floor measured in the same run."""
    from evals.bench import decode

    _emit(decode.run(_bench_video(video, loop_to), fps=fps), as_json, decode.report)


@bench.command("frames")
@guarded
def bench_frames(
    video: Path, windows: int = 200, window_frames: int = 8, loop_to: LoopOption = None, as_json: JsonOption = False
) -> None:
    """Frame-store windows, cold and warm, against decoding them from the source; peak RSS under a 64 MB cache."""
    from evals.bench import frames

    _emit(frames.run(_bench_video(video, loop_to), windows=windows, window_frames=window_frames), as_json, frames.report)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli()
