"""The question commands: ask about an ingested video, or about an image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.answer import Answer
from app.cli.common import ConfigOption, HomeOption, VLMOption, guarded, open_longshot
from app.cli.output import print_answer


@guarded
def ask(
    video: str,
    question: str,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="A multiple-choice option; repeat.")] = None,
    until: Annotated[float | None, typer.Option(help="Use only the video up to this second.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    vlm: VLMOption = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Ask a question about an ingested video; prints the answer, its evidence and the steps."""
    longshot = open_longshot(home, config, models__vlm=vlm)
    answer: Answer | None = None
    for item in longshot.ask_stream(video, question, option or None, until=until):
        if isinstance(item, Answer):
            answer = item
        elif not as_json:
            typer.secho(
                f"  step {item.index}: {item.action} {json.dumps(item.args)} -> {item.summary} ({item.seconds:.2f} s)",
                dim=True,
                err=True,
            )
    assert answer is not None, "the agent's stream always ends with its answer"
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), default=str))
        return
    print_answer(answer)


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
