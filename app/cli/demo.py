"""`longshot demo`: the whole system, offline, in a few minutes on an ordinary machine.

It makes the sample video (app.sample_video: a day at a station, five scenes with notices on
the frames, announcements spoken by espeak-ng when it is installed), puts it into the
library the way the web app does, ingests it with a progress bar, asks three questions and
prints the answers with their timestamps and evidence. `--video PATH` uses real footage
instead; `--serve` opens the web app on the library afterwards.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import typer

from app.cli.output import ingest_progress, print_answer
from app.sample_video import FOOTAGE_QUESTIONS, SAMPLE_QUESTIONS, SILENT_QUESTION, SPOKEN_QUESTION, make_sample
from app.web.uploads import accept_upload
from perception.errors import MediaError


def run_demo(longshot: Any, video: Path | None = None, serve: bool = False) -> None:
    """Make or take a video, ingest it into the library, ask three questions, then point at the web app."""
    home = Path(longshot.config.home)
    typer.secho("Longshot demo: everything below runs on this machine, offline.", bold=True)
    missing = [r.role for r in longshot.models.doctor() if not r.available and r.backend != "none"]
    if missing:
        typer.secho(f"  roles without a model here (the demo works without them): {', '.join(missing)}", dim=True)
    with tempfile.TemporaryDirectory(prefix="longshot-demo-") as work:
        if video is None:
            typer.echo("Making a 2:30 sample video: five scenes at a station, with notices on screen ...")
            source, speaks = make_sample(work)
            questions = (*SAMPLE_QUESTIONS, SPOKEN_QUESTION if speaks else SILENT_QUESTION)
            if not speaks:
                typer.secho("  espeak-ng is not installed, so the sample has no speech", dim=True)
        else:
            source, questions = Path(video).expanduser(), FOOTAGE_QUESTIONS
            if not source.is_file():
                raise MediaError(f"{source} does not exist or is not a file")
        path = accept_upload(home, source, source.name, float("inf"))
    typer.echo(f"Ingesting {path.name} into the library at {home} ...")
    result = longshot.ingest(path, progress=ingest_progress(path.name))
    record = result.video
    done = "already in the library" if result.already_done else f"ingested in {result.seconds:.0f} s"
    typer.echo(f"{record.name}: {record.duration:.0f} s of video, {done}")
    for question in questions:
        typer.secho(f"\nQ: {question}", fg=typer.colors.CYAN, bold=True)
        print_answer(longshot.ask(record.id, question))
    typer.secho(
        "\nOpen the web app on this library to ask your own questions, see the evidence frames and browse the memory:", bold=True
    )
    web = longshot.config.web
    typer.echo(f"  longshot serve --home {home}    (then open http://{web.host}:{web.port})")
    if serve:
        from app.web.server import serve as serve_web

        serve_web(longshot, open_browser=True)
