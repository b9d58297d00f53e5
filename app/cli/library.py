"""The library commands: ingest videos, list them, forget one, browse one's memory."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import ConfigOption, HomeOption, guarded, open_longshot
from perception.timefmt import format_time

if TYPE_CHECKING:
    from app.ingest_batch import BatchReport

STATUS_WORDS = (("ingested", "ingested"), ("already", "already in the library"), ("failed", "failed"))


@guarded
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Video files, folders (searched recursively) or glob patterns.")],
    sample_fps: Annotated[float | None, typer.Option(help="Frames sampled per second of video.")] = None,
    scales: Annotated[str | None, typer.Option(help="Coarser scales in seconds, e.g. 30,180,600.")] = None,
    executor: Annotated[str, typer.Option(help="local (processes on this machine) or ray.")] = "local",
    workers: Annotated[int, typer.Option(help="Videos ingested at once (one: in this process).")] = 1,
    address: Annotated[str | None, typer.Option(help="The Ray cluster to join (--executor ray).")] = None,
    shards: Annotated[
        Path | None, typer.Option(help="Where workers write per-video shards (--executor ray; default <home>/shards).")
    ] = None,
    subtitles: Annotated[
        Path | None,
        typer.Option(help="Subtitles (.srt, .vtt) of the one video given; by default a file beside each video with its name."),
    ] = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Watch videos once and write their memories into the library (resumable); one failure does not stop the rest."""
    from app.cli.ingest_progress import BatchDisplay, verdict  # loaded by the command that draws it, not by every command

    longshot = open_longshot(home, config, ingest__sample_fps=sample_fps, ingest__scales=scales)
    display = BatchDisplay()
    try:
        report = longshot.ingest_many(
            paths, executor=executor, workers=workers, address=address, shards=shards, progress=display, subtitles=subtitles
        )
    finally:
        display.close()
    for outcome in report.outcomes:
        if outcome.status == "failed":
            typer.secho(f"error: {outcome.path}: {outcome.error}", fg=typer.colors.RED, err=True)
            continue
        record = longshot.video(outcome.video)
        typer.echo(f"{record.id}  {record.name}  {format_time(record.duration)}  {verdict(outcome)}")
        for warning in outcome.warnings:
            typer.secho(f"  warning: {warning}", fg=typer.colors.YELLOW)
    typer.echo(summary(report))
    raise typer.Exit(1 if report.failed or not report.outcomes else 0)


def summary(report: BatchReport) -> str:
    """ "3 videos: 1 ingested, 1 already in the library, 1 failed; 2 files were not videos" """
    counts = Counter(outcome.status for outcome in report.outcomes)
    parts = [f"{counts[status]} {label}" for status, label in STATUS_WORDS if counts[status]]
    skipped = f"; {report.not_videos} file(s) were not videos" if report.not_videos else ""
    return f"{len(report.outcomes)} video(s): {', '.join(parts) or 'nothing to ingest'}{skipped}"


@guarded
def videos(home: HomeOption = None, config: ConfigOption = None) -> None:
    """List the library."""
    for record in open_longshot(home, config).videos():
        typer.echo(f"{record.id}  {record.status:<9}  {format_time(record.duration):>8}  {record.name}")


@guarded
def forget(video: str, home: HomeOption = None, config: ConfigOption = None) -> None:
    """Remove a video and all its memories from the library."""
    longshot = open_longshot(home, config)
    record = longshot.video(video)
    longshot.forget(record.id)
    typer.echo(f"forgot {record.id}  {record.name}")


@guarded
def memory(
    video: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Browse a video's memory: the timeline at each scale, entities, facts and their moments."""
    longshot = open_longshot(home, config)
    record = longshot.video(video)
    scales = longshot.episodic.scales(record.id)
    timeline = {scale: longshot.episodic.segments(record.id, scale=scale) for scale in scales}
    entities = longshot.semantic.entities(record.id)
    facts = longshot.semantic.facts(record.id)
    if as_json:
        from dataclasses import asdict

        typer.echo(
            json.dumps(
                {
                    "video": asdict(record),
                    "timeline": {str(s): [asdict(x) for x in segs] for s, segs in timeline.items()},
                    "entities": [asdict(e) for e in entities],
                    "facts": [asdict(f) for f in facts],
                },
                default=str,
            )
        )
        return
    typer.secho(f"{record.name}  ({record.id}, {format_time(record.duration)}, {record.status})", bold=True)
    for scale, segments in timeline.items():
        typer.secho(f"\n== timeline at {format_time(scale)} ({len(segments)} segments)", bold=True)
        for segment in segments:
            typer.echo(f"  {format_time(segment.start):>8}-{format_time(segment.end):<8} {segment.caption}")
    typer.secho(f"\n== entities ({len(entities)})", bold=True)
    for entity in entities:
        typer.echo(
            f"  {entity.name} [{entity.kind}] x{entity.count}  {format_time(entity.first_seen)}-{format_time(entity.last_seen)}"
        )
    typer.secho(f"\n== facts ({len(facts)})", bold=True)
    for fact in facts:
        moments = ", ".join(f"#{s}" for s in fact.segments)
        typer.echo(
            f"  [{fact.id}] {fact.subject} -{fact.relation}-> {fact.object}  "
            f"{format_time(fact.start)}-{format_time(fact.end)}  ({fact.source}, {fact.confidence:.2f}; segments {moments})"
        )
