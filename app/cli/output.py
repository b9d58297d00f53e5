"""How commands print: an answer with its evidence and timestamps, and one progress bar per ingest stage."""

from __future__ import annotations

import sys

import typer
from tqdm import tqdm

from perception.timefmt import format_time

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


def print_answer(answer) -> None:
    """The answer first, then the evidence with timestamps, so a reader can check it."""
    letter = f"({answer.choice}) " if answer.choice else ""
    span = f"  [{format_time(answer.span[0])}-{format_time(answer.span[1])}]" if answer.span else ""
    typer.secho(f"{letter}{answer.text}{span}", bold=True)
    _print_evidence(answer)
    typer.secho(f"  {len(answer.trace)} steps, {answer.seconds:.2f} s, policy {answer.policy}", dim=True)


def print_library_answer(answer) -> None:
    """An answer across the library: its text (a line per video it names), each video's evidence, then
    every video the agent tried with its support."""
    letter = f"({answer.choice}) " if answer.choice else ""
    typer.secho(f"{letter}{answer.text}", bold=True)
    for found in answer.answers:
        typer.echo(f"  in {found.name} ({found.video}):")
        _print_evidence(found.answer)
    tried = ", ".join(f"{t.name} {t.support:.2f}" for t in answer.tried) or "none"
    typer.secho(f"  videos tried: {tried}; {answer.seconds:.2f} s", dim=True)


def _print_evidence(answer) -> None:
    for item in answer.evidence:
        when = f"{format_time(item.start)}-{format_time(item.end)}"
        frames = (" frames " + ",".join(str(f.index) for f in item.frames[:4])) if item.frames else ""
        where = f" sketch {item.image_path}" if item.image_path else ""
        typer.echo(f"  {item.kind:<7} {when:<15} {item.score:5.2f}  {item.text[:160]}{frames}{where}")
