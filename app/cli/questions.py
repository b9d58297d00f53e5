"""The question commands: ask about an ingested video or across the library, search the library's
moments, or ask about an image."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import ConfigOption, HomeOption, VLMOption, guarded, open_longshot
from app.cli.output import print_answer, print_library_answer
from perception.timefmt import format_span


@guarded
def ask(
    video: Annotated[str, typer.Argument(help="The video (id, name or path); with --all, the question.")],
    question: Annotated[str | None, typer.Argument(help="The question (left out with --all).")] = None,
    everywhere: Annotated[bool, typer.Option("--all", help="Ask across the whole library.")] = False,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="A multiple-choice option; repeat.")] = None,
    until: Annotated[float | None, typer.Option(help="Use only the video up to this second.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    vlm: VLMOption = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Ask a question about an ingested video, or with --all across the library; prints the answer, its
    evidence (with the videos and moments) and the steps."""
    longshot = open_longshot(home, config, models__vlm=vlm)
    if everywhere == (question is not None):
        typer.secho("error: give VIDEO QUESTION, or --all QUESTION", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    if everywhere:
        stream = longshot.ask_library_stream(video, option or None)
    else:
        stream = longshot.ask_stream(video, question, option or None, until=until)
    from app.answer import Answer
    from app.library_answer import LibraryAnswer, LibraryStep

    answer: Answer | LibraryAnswer | None = None
    for item in stream:
        step, where = (item.step, f"{item.name}: ") if isinstance(item, LibraryStep) else (item, "")
        if isinstance(item, Answer | LibraryAnswer):
            answer = item
        elif not as_json:
            summary = f"{step.action} {json.dumps(step.args)} -> {step.summary} ({step.seconds:.2f} s)"
            typer.secho(f"  {where}step {step.index}: {summary}", dim=True, err=True)
    assert answer is not None, "a stream ends with its answer"
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), default=str))
        return
    (print_library_answer if everywhere else print_answer)(answer)


@guarded
def search(
    query: str,
    video: Annotated[list[str] | None, typer.Option("--video", "-v", help="Only this video (id or name); repeat.")] = None,
    modality: Annotated[
        list[str] | None, typer.Option("--modality", "-m", help="Only moments with this: speech, text, caption, object...")
    ] = None,
    after: Annotated[str | None, typer.Option(help="Only videos added on or after this date (2025-01-31) or time.")] = None,
    before: Annotated[str | None, typer.Option(help="Only videos added on or before this date or time.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many moments.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the moments as JSON lines.")] = False,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Search every video of the library at once: ranked moments (video, when, modality, text, keyframe)."""
    longshot = open_longshot(home, config)
    moments = longshot.search(
        query, videos=video or None, k=k, modalities=modality or None, added_after=_when(after), added_before=_when(before)
    )
    for moment in moments:
        if as_json:
            typer.echo(json.dumps(dataclasses.asdict(moment)))
            continue
        keyframe = f"  frame {moment.keyframe}" if moment.keyframe is not None else ""
        when = format_span(moment.start, moment.end)
        text = moment.text.replace("\n", "; ")[:140]
        typer.echo(f"{moment.score:5.2f}  {moment.name}  {when:<13} {moment.modality:<8} {text}{keyframe}")
    if not moments and not as_json:
        typer.secho("no moment matches", dim=True, err=True)


def _when(text: str | None) -> date | datetime | None:
    """A date (2025-01-31: that whole day) or an ISO time, from a flag."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD) or ISO time") from None


@guarded
def ask_image(
    image: Annotated[Path, typer.Argument(help="An image file (PNG, JPEG, WebP...).")],
    question: str,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="A multiple-choice option; repeat.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    vlm: VLMOption = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Ask a question about an image; prints the answer, its evidence and the rendered sketches (PNG paths)."""
    answer = open_longshot(home, config, models__vlm=vlm).ask_image(image, question, option or None)
    assert answer is not None, "the agent's stream always ends with its answer"
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), default=str))
        return
    for step in answer.trace[:-1]:
        typer.secho(f"  step {step.index}: {step.action} {json.dumps(step.args)} -> {step.summary}", dim=True, err=True)
    print_answer(answer)
    sketches = [e.image_path for step in answer.trace for e in step.evidence if e.image_path]  # in the order drawn
    if sketches:
        typer.echo(f"sketch: {sketches[-1]}")
