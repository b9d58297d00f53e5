"""How commands print: an answer with its evidence and timestamps, and an ingest's progress: one bar
per stage on a terminal, plain lines in a pipe or a log (where a bar's carriage returns are noise)."""

from __future__ import annotations

import sys
from typing import TextIO

import typer

from perception.timefmt import format_time

STAGE_BAR = "{desc:>9} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s video [{elapsed}<{remaining}, {rate_fmt}]"
LINE_EVERY = 0.1  # a plain progress line each time another tenth of the video is committed


def ingest_progress(name: str, stream: TextIO | None = None):
    """A progress callback for one ingest: bars when `stream` (default stderr) is a terminal, lines otherwise."""
    stream = stream or sys.stderr
    return _stage_bars(name, stream) if stream.isatty() else _progress_lines(name, stream)


def _stage_bars(name: str, stream: TextIO):
    """One bar per ingest stage (decode, ocr, speech, detect, commit).

    Each bar counts seconds of video that stage has got through, so its rate is the stage's
    speed in video seconds per second and its ETA that stage's; "commit" is the whole ingest.
    """
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(event) -> None:
        if not bars:
            tqdm.write(f"{name} ({format_time(event.total)})", file=stream)
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
                    file=stream,
                    bar_format=STAGE_BAR,
                    mininterval=0.5,
                )
            bar.update(done - bar.n)
        if event.stage == "done":
            for bar in bars.values():
                bar.close()

    return update


def _progress_lines(name: str, stream: TextIO):
    """A line when the ingest starts, at each further tenth of the video committed, and at the end."""
    shown = -1

    def update(event) -> None:
        nonlocal shown
        share = event.done / event.total if event.total > 0 else 1.0
        tenth = int(share / LINE_EVERY + 1e-9)
        if event.stage == "done":
            print(f"{name}: {format_time(event.total)} of video done in {event.elapsed:.0f} s", file=stream, flush=True)
        elif shown < 0 or (tenth > shown and share < 1):
            left = f", about {event.eta:.0f} s left" if event.eta is not None else ""
            where = f"{format_time(event.done)} of {format_time(event.total)}"
            print(f"{name}: {share:.0%} ({where}) after {event.elapsed:.0f} s{left}", file=stream, flush=True)
            shown = tenth

    return update


def progress_bar(total: int, desc: str, unit: str, initial: int = 0, enabled: bool = True, stream: TextIO | None = None):
    """A tqdm bar on a terminal; in a pipe or a log, `ProgressLines` with the same calls; nothing when not `enabled`."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    if enabled and not stream.isatty():
        return ProgressLines(total, desc, unit, initial, stream)
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=stream, disable=not enabled, dynamic_ncols=True)


class ProgressLines:
    """The calls of a tqdm bar (update, set_postfix_str, close) as a plain line at each further tenth done."""

    def __init__(self, total: int, desc: str, unit: str, initial: int, stream: TextIO):
        self.total, self.desc, self.unit, self.n, self.stream = total, desc, unit, initial, stream
        self.postfix = ""
        self._shown = -1

    def update(self, n: int = 1) -> None:
        self.n += n
        tenth = int(self.n / max(self.total, 1) / LINE_EVERY + 1e-9)
        if tenth > self._shown:
            self._line()
            self._shown = tenth

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def close(self) -> None:
        if self._shown < int(1 / LINE_EVERY):
            self._line()
            self._shown = int(1 / LINE_EVERY)

    def _line(self) -> None:
        extra = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} {self.unit}s{extra}", file=self.stream, flush=True)


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
