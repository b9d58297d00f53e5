"""The `longshot` command line. Errors print one line and exit non-zero.

`evals.cli` mounts `eval` and `bench` on this app, so imports keep flowing one way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from tqdm import tqdm

from perception.config import load_config
from perception.errors import LongshotError
from perception.timefmt import format_time

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Answer questions about long videos and images.")

HomeOption = Annotated[Path | None, typer.Option("--home", help="Library home (default $LONGSHOT_HOME or ~/.longshot).")]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")]


def open_longshot(home: Path | None = None, config: Path | None = None, **flags: Any):
    """A Longshot built from defaults, the config file, the environment, then these flags."""
    from app.api import Longshot

    overrides = {"home": home, **{k.replace("__", "."): v for k, v in flags.items()}}
    return Longshot(config=load_config(config, overrides=overrides))


def fail(err: Exception) -> None:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def guarded(command: Callable) -> Callable:
    """Turn our typed errors into one line on stderr and exit code 1."""
    import functools

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LongshotError as err:
            fail(err)

    return wrapper


@cli.command()
@guarded
def doctor(home: HomeOption = None, config: ConfigOption = None) -> None:
    """Report every model role, the video decoders and the library home."""
    from perception.models import Models

    settings = load_config(config, overrides={"home": home})
    rows = Models(settings).doctor()
    width = max(len(r.role) for r in rows)
    for row in rows:
        mark = typer.style("ok ", fg=typer.colors.GREEN) if row.available else typer.style("-- ", fg=typer.colors.YELLOW)
        detail = row.source if row.available else row.reason
        typer.echo(f"{mark}{row.role:<{width}}  {row.backend}:{row.model}  {detail}")
    typer.echo(f"home: {settings.home}")
    essential = {"ocr", "speech", "text_embedding"}
    usable = all(r.available for r in rows if r.role in essential)
    if not usable:
        typer.secho("the offline stack is not usable: see the roles marked --", fg=typer.colors.RED, err=True)
    raise typer.Exit(0 if usable else 1)


@cli.command()
@guarded
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Video files to ingest.")],
    sample_fps: Annotated[float | None, typer.Option(help="Frames sampled per second of video.")] = None,
    scales: Annotated[str | None, typer.Option(help="Coarser scales in seconds, e.g. 30,180,600.")] = None,
    subtitles: Annotated[
        Path | None,
        typer.Option(help="Subtitles (.srt, .vtt) of the one video given; by default a file beside it with its name."),
    ] = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Watch videos once and write their memories into the library (resumable)."""
    if subtitles is not None and len(paths) != 1:
        raise typer.BadParameter("--subtitles goes with one video; for several, put a subtitle file beside each")
    longshot = open_longshot(home, config, ingest__sample_fps=sample_fps, ingest__scales=scales)
    failed = 0
    for path in paths:
        try:
            result = longshot.ingest(path, progress=tqdm_progress(path.name), subtitles=subtitles)
        except LongshotError as err:
            typer.secho(f"error: {path}: {err}", fg=typer.colors.RED, err=True)
            failed += 1
            continue
        record = result.video
        verb = "already in the library" if result.already_done else f"ingested in {result.seconds:.1f} s"
        typer.echo(f"{record.id}  {record.name}  {format_time(record.duration)}  {verb}")
        for warning in result.warnings:
            typer.secho(f"  warning: {warning}", fg=typer.colors.YELLOW)
    raise typer.Exit(1 if failed else 0)


STAGE_BAR = "{desc:>9} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s video [{elapsed}<{remaining}, {rate_fmt}]"


def tqdm_progress(name: str):
    """A progress callback drawing one bar per ingest stage (decode, ocr, speech, detect, commit).

    Each bar counts seconds of video that stage has got through, so its rate is the stage's
    speed in video seconds per second and its ETA that stage's; "commit" is the whole ingest.
    """
    bars: dict[str, tqdm] = {}

    def update(event) -> None:
        if not bars:
            tqdm.write(f"{name} ({format_time(event.total)})", file=sys.stderr)
        for position, (stage, done) in enumerate(event.stages or ((event.stage, event.done),)):
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(
                    total=event.total,
                    initial=done,
                    desc=stage,
                    unit="s",
                    unit_scale=False,
                    position=position,
                    leave=True,
                    file=sys.stderr,
                    bar_format=STAGE_BAR,
                    mininterval=0.5,
                )
            bar.update(done - bar.n)
        if event.stage == "done":
            for bar in bars.values():
                bar.close()

    return update


@cli.command()
@guarded
def videos(home: HomeOption = None, config: ConfigOption = None) -> None:
    """List the library."""
    for record in open_longshot(home, config).videos():
        typer.echo(f"{record.id}  {record.status:<9}  {format_time(record.duration):>8}  {record.name}")


@cli.command()
@guarded
def forget(video: str, home: HomeOption = None, config: ConfigOption = None) -> None:
    """Remove a video and all its memories from the library."""
    longshot = open_longshot(home, config)
    record = longshot.video(video)
    longshot.forget(record.id)
    typer.echo(f"forgot {record.id}  {record.name}")


@cli.command()
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


@cli.command()
@guarded
def ask(
    video: str,
    question: str,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="A multiple-choice option; repeat.")] = None,
    until: Annotated[float | None, typer.Option(help="Use only the video up to this second.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Ask a question about an ingested video; prints the answer, its evidence and the steps."""
    longshot = open_longshot(home, config)
    answer = None
    for item in longshot.ask_stream(video, question, option or None, until=until):
        if hasattr(item, "trace"):
            answer = item
        elif not as_json:
            typer.secho(
                f"  step {item.index}: {item.action} {json.dumps(item.args)} -> {item.summary} ({item.seconds:.2f} s)",
                dim=True,
                err=True,
            )
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), default=str))
        return
    print_answer(answer)


@cli.command("ask-image")
@guarded
def ask_image(
    image: Annotated[Path, typer.Argument(help="An image file (PNG, JPEG, WebP...).")],
    question: str,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="A multiple-choice option; repeat.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Ask a question about an image; prints the answer, its evidence and the rendered sketches (PNG paths)."""
    answer = open_longshot(home, config).ask_image(image, question, option or None)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), default=str))
        return
    for step in answer.trace[:-1]:
        typer.secho(f"  step {step.index}: {step.action} {json.dumps(step.args)} -> {step.summary}", dim=True, err=True)
    print_answer(answer)
    sketches = [e.image_path for step in answer.trace for e in step.evidence if e.image_path]  # in the order drawn
    if sketches:
        typer.echo(f"sketch: {sketches[-1]}")


@cli.command()
@guarded
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default web.host, 127.0.0.1: this machine only).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default web.port, 7860).")] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the app in a browser.")] = False,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the web app: upload and ingest videos, ask with streamed steps, browse the memory."""
    from app.web import serve as serve_web

    serve_web(open_longshot(home, config, web__host=host, web__port=port), open_browser=open_browser)


@cli.command()
@guarded
def demo(
    video: Annotated[Path | None, typer.Option(help="Real footage to use instead of the generated sample.")] = None,
    open_app: Annotated[bool, typer.Option("--serve", help="Open the web app on the library afterwards.")] = False,
    port: Annotated[int | None, typer.Option(help="Port of the web app with --serve.")] = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Offline tour: make a sample video, ingest it, ask three questions, print answers with evidence."""
    from app.demo import run_demo

    run_demo(open_longshot(home, config, web__port=port), video=video, serve=open_app)


def print_answer(answer) -> None:
    """The answer first, then the evidence with timestamps, so a reader can check it."""
    letter = f"({answer.choice}) " if answer.choice else ""
    span = f"  [{format_time(answer.span[0])}-{format_time(answer.span[1])}]" if answer.span else ""
    typer.secho(f"{letter}{answer.text}{span}", bold=True)
    for item in answer.evidence:
        when = f"{format_time(item.start)}-{format_time(item.end)}"
        frames = (" frames " + ",".join(str(f.index) for f in item.frames[:4])) if item.frames else ""
        where = f" sketch {item.image_path}" if item.image_path else ""
        typer.echo(f"  {item.kind:<7} {when:<15} {item.score:5.2f}  {item.text[:160]}{frames}{where}")
    typer.secho(f"  {len(answer.trace)} steps, {answer.seconds:.2f} s, policy {answer.policy}", dim=True)
