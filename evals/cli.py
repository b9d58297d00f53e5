"""The full `longshot` command: the app's commands plus `eval` and `bench`.

They are mounted here, not in `app.cli`, because evaluation sits above the app in the
direction of imports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.allocator import retune
from app.cli import ConfigOption, HomeOption, cli, guarded
from perception.config import load_config
from perception.errors import ConfigError

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


@bench.command("ask")
@guarded
def bench_ask(
    minutes: Annotated[float, typer.Option(help="Length of the needle video (built and ingested once, then reused).")] = 30,
    frames: Annotated[int, typer.Option(help="Frames the no-memory baseline samples uniformly.")] = 32,
    seed: int = 0,
    root: Annotated[Path | None, typer.Option(help="Where the needle set and its library are kept.")] = None,
    torch_threads: Annotated[int | None, typer.Option(help="torch intra-op threads while answering (default: torch's).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Latency (median, p95), peak RSS and accuracy of the offline policy on a needle memory, against no memory."""
    from evals.bench import ask

    _emit(ask.run(minutes=minutes, frames=frames, seed=seed, root=root, torch_threads=torch_threads), as_json, ask.report)


@bench.command("ingest")
@guarded
def bench_ingest(
    minutes: Annotated[
        str, typer.Option(help="Needle video lengths in minutes, each ingested in a process of its own.")
    ] = "10,60",
    lecture_minutes: Annotated[
        float, typer.Option(help="Length of the lecture (continuous speech, word error rate reported); 0 skips it.")
    ] = 10,
    motion_pairs: Annotated[
        int,
        typer.Option(
            min=0,
            help="Motion's cost: ingest the longest this many times with motion on and off, interleaved "
            "(medians), and a still video as long; 0 skips it.",
        ),
    ] = 3,
    as_json: JsonOption = False,
) -> None:
    """Ingest speed (video s per wall s, busy time per stage), peak RSS per length and against the decode floor;
    motion's overhead, and a still video against a busy one."""
    from evals.bench import ingest

    try:
        lengths = [float(m) for m in minutes.split(",") if m.strip()]
    except ValueError:
        raise ConfigError(f"--minutes takes numbers separated by commas, got {minutes!r}") from None
    _emit(ingest.run(lengths, lecture_minutes=lecture_minutes, motion_pairs=motion_pairs), as_json, ingest.report)


@bench.command("cold")
@guarded
def bench_cold(
    minutes: Annotated[float, typer.Option(help="Length of the needle library (built and ingested once, then reused).")] = 30,
    repeats: Annotated[int, typer.Option(help="Fresh runs of each command.")] = 3,
    root: Annotated[Path | None, typer.Option(help="Where the needle video and its library are kept.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Wall time, peak RSS and heavy imports of each CLI command in fresh processes, against `python -c pass`."""
    from evals.bench import cold

    _emit(cold.run(minutes=minutes, repeats=repeats, root=root), as_json, cold.report)


@bench.command("library")
@guarded
def bench_library(
    hours: Annotated[str, typer.Option(help="Library sizes in hours, grown in one home, smallest first.")] = "10,100,1000",
    searches: Annotated[int, typer.Option(help="Searches timed at each size.")] = 200,
    asks: Annotated[int, typer.Option(help="Questions across the library (ask --all) timed at each size.")] = 10,
    root: Annotated[Path | None, typer.Option(help="Where the seed library and the grown library are kept.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Library-wide search and ask --all at each size: latency, RSS, catalogue and index size, index build time."""
    from evals.bench import library

    try:
        sizes = [float(h) for h in hours.split(",") if h.strip()]
    except ValueError:
        raise ConfigError(f"--hours takes numbers separated by commas, got {hours!r}") from None
    _emit(library.run(sizes, searches=searches, asks=asks, root=root), as_json, library.report)


@bench.command("embed")
@guarded
def bench_embed(
    threads: Annotated[int, typer.Option(help="CPU threads per model (models.cpu_threads).")] = 1,
    as_json: JsonOption = False,
) -> None:
    """The text embedder on onnxruntime against sentence-transformers: cold load, peak RSS, sentences per second."""
    from evals.bench import text_embed

    _emit(text_embed.run(threads=threads), as_json, text_embed.report)


@bench.command("soak")
@guarded
def bench_soak(
    minutes: Annotated[float, typer.Option(help="How long to run.")] = 20,
    askers: Annotated[int, typer.Option(help="Threads asking questions while one thread ingests.")] = 3,
    every: Annotated[float, typer.Option(help="Seconds between lines of the RSS table.")] = 10,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mixed ingest and questions in a temporary library: throughput, errors, RSS over time and its slope."""
    import sys

    from evals.bench import soak

    settings = load_config(config)
    figures = soak.run(minutes=minutes, askers=askers, every=every, config=settings, out=sys.stderr if as_json else None)
    _emit(figures, as_json, soak.report)


@bench.command("crash")
@guarded
def bench_crash(
    kills: Annotated[int, typer.Option(help="SIGKILLs in all, a quarter each: local or Ray, a long video or a batch.")] = 100,
    seed: int = 0,
    root: Annotated[Path | None, typer.Option(help="Where media, libraries and rounds go (default: a temporary folder).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Kill ingest at random moments and resume; after each kill the library is whole and a prefix of an uninterrupted run."""
    from evals.bench import crash

    if kills < 1:
        raise ConfigError(f"--kills must be at least 1, got {kills}")
    figures = crash.run(kills=kills, seed=seed, root=root)
    _emit(figures, as_json, crash.report)
    if figures["corruptions"] or figures["losses"]:
        raise typer.Exit(1)


evaluate = typer.Typer(help="Evaluate on a benchmark (`longshot eval --dataset NAME --root PATH`), or re-render a report.")
cli.add_typer(evaluate, name="eval")


@evaluate.callback(invoke_without_command=True)
@guarded
def eval_run(
    ctx: typer.Context,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Benchmark: needle (= needle:full; also needle:heldout, needle:heldout2, needle:ci, needle:classic, "
            "needle:motion, needle:motion_heldout, needle:motion_heldout2, needle:motion_ci), videomme, "
            "egoschema, mlvu, lvbench, longvideobench, nextqa, jsonl, sketchpad, blink_depth, ..."
        ),
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option(help="The benchmark as downloaded (the needle set: where to build it, default <home>/datasets/needle)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N items.")] = None,
    executor: Annotated[str, typer.Option(help="local (a process pool) or ray.")] = "local",
    workers: Annotated[int, typer.Option(help="Worker processes or Ray actors; each loads the models once.")] = 1,
    address: Annotated[str | None, typer.Option(help="An existing Ray cluster (with --executor ray).")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default eval-runs/<dataset>); a rerun resumes it.")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-O", help="Dataset option KEY=VALUE, e.g. minutes=5; repeat.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Draw the progress bar.")] = True,
    media: Annotated[
        Path | None,
        typer.Option(help="The real media folder the needle sets are built from (default: LONGSHOT_MEDIA, config key media)."),
    ] = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Ingest each video once, answer every question, and write results.jsonl, summary.json, report.md and plots."""
    if ctx.invoked_subcommand is not None:
        return
    if dataset is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    from evals.datasets import get_dataset
    from evals.runner import run_eval

    settings = load_config(config, overrides={"home": home})
    options = dict(_dataset_option(text) for text in option or ())
    key = dataset.strip().lower()
    needle = key.split(":")[0] == "needle"
    if root is None:
        if not needle:
            raise ConfigError(f"--root is needed: the folder where {dataset} was downloaded")
        root = settings.home / "datasets" / "needle"
    if needle and (media or settings.media):
        options.setdefault("media", str(media or settings.media))
    elif media:
        raise ConfigError("--media is for the needle sets, which are built from it")
    out = out or Path("eval-runs") / key.replace(":", "-")
    summary = run_eval(
        get_dataset(dataset, root, **options),
        out,
        settings,
        executor=executor,
        workers=workers,
        address=address,
        limit=limit,
        dataset_key=key,
        dataset_options=options,
        progress=progress,
    )
    _print_summary(summary, out)


@evaluate.command("report")
@guarded
def eval_report(path: Annotated[Path, typer.Argument(help="A run folder (or its results.jsonl).")]) -> None:
    """Render summary.json, report.md and the plots again from a run's results.jsonl."""
    from evals.report import write_report

    _print_summary(write_report(path), path if path.is_dir() else path.parent)


def _dataset_option(text: str) -> tuple[str, object]:
    """KEY=VALUE, the value read as JSON where it is JSON (2, true, ["a"]) and as text otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--option takes KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def _print_summary(summary: dict, folder: Path) -> None:
    from evals.report import REPORT_NAME, fraction, overall

    baselines = summary["baselines"]
    typer.echo(
        f"accuracy {fraction(overall(summary))}; blind {fraction(baselines['blind'])}; "
        f"random {fraction(baselines['random']['expected'], counted=False)} (expected)"
    )
    if summary["macro"]:
        typer.echo(f"macro accuracy over {summary['macro']['over']}: {summary['macro']['accuracy']:.1%}")
    typer.echo(f"report: {folder / REPORT_NAME}")
    errors = summary["counts"]["errors"]
    if errors:
        typer.secho(
            f"{errors} items failed (see the report); run the same command again to retry them", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(1)


def main() -> None:
    retune()  # the commands that ingest re-run once with glibc's allocator set up for it (app.allocator)
    cli()
