"""Run a benchmark: ingest each video once, answer every question, write results and a report.

    summary = run_eval(get_dataset("needle", "~/needle"), "runs/needle", load_config())

The output folder holds `run.json` (what was run, with which settings), `results.jsonl`
(one line per finished item, durable as soon as it is written), and the report
(`summary.json`, `report.md`, plots). Running again into the same folder resumes: finished
items are skipped, failed ones are tried again, and settings that would change the answers
(models, agent, ingest) must match, so one report never mixes two systems.

Work is scheduled in two stages on an executor (a local process pool or Ray actors): a
video's questions are submitted once its ingest is done, and ready questions go before
further ingests, so results flow while other videos are still being watched.
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.cli.output import progress_bar
from app.executors import Executor, WorkerDied, WorkerSpec, make_executor
from evals.datasets.base import Dataset, DatasetError, Item, describe
from evals.metrics import Result
from evals.records import ResultsLog, item_fields
from evals.report import RUN_NAME, write_report
from evals.stages import StageWorker
from perception.config import Config
from perception.errors import ConfigError
from perception.models import Models

RESUME_HINT = "finished items are saved; run the same command again to resume"
SETTINGS_SECTIONS = ("models", "agent", "ingest")  # what changes an answer; `vlm` holds a key, so it is left out
NOT_SETTINGS = {"models": ("device",)}  # where models run, not what they answer: a run may resume on a GPU


class VLMRequiredError(ConfigError):
    """The items are image questions and no VLM is configured."""


def run_eval(
    dataset: Dataset,
    out: str | Path,
    config: Config,
    *,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    limit: int | None = None,
    dataset_key: str | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate `dataset` into the folder `out` and return the summary written there.

    Image questions need a VLM: without one (models.vlm = none) this raises
    VLMRequiredError before any work, rather than scoring guesses.
    """
    out = Path(out).expanduser()
    items = list(dataset.items(limit))
    _check_ids(items)
    _require_vlm(items, config)
    _claim_folder(out, dataset, config, dataset_key, dataset_options, executor, workers, limit)
    log = ResultsLog(out)
    finished = log.resume()
    pending = [item for item in items if item.id not in finished]
    try:
        if pending:
            _Schedule(pending, finished, log, len(items), dataset.name, progress).run(
                make_executor(executor, WorkerSpec(StageWorker, (config,)), workers, address)
            )
    finally:
        log.close()
    return write_report(out)


def needs_vlm(item: Item) -> bool:
    return bool(item.images) and item.video is None


def _check_ids(items: list[Item]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DatasetError(f"item id {item.id!r} appears twice; results are kept per id")
        seen.add(item.id)


def _require_vlm(items: list[Item], config: Config) -> None:
    image_items = [item for item in items if needs_vlm(item)]
    if not image_items or Models(config).available("vlm"):
        return
    tasks = sorted({value for item in image_items for value in item.bucket_values("task")})
    what = f"the tasks {', '.join(tasks)}" if tasks else "these items"
    raise VLMRequiredError(
        f"{len(image_items)} of {len(items)} items are image questions ({what}) and need a VLM to be answered; "
        "none is configured (models.vlm = none), and guessing would only measure chance. "
        "Set models.vlm = 'openai:<model>@<base-url>' (a vLLM, SGLang, Ollama or OpenAI endpoint), "
        "e.g. LONGSHOT_MODELS__VLM=openai:qwen2.5-vl@http://localhost:8000/v1"
    )


def _claim_folder(
    out: Path,
    dataset: Dataset,
    config: Config,
    key: str | None,
    options: Mapping[str, Any] | None,
    executor: str,
    workers: int,
    limit: int | None,
) -> None:
    """Write run.json, or check that the run already in `out` was made with the same settings."""
    run = {
        "dataset": {**describe(dataset), "key": key or dataset.name, "options": dict(options or {})},
        "settings": {name: _settings(config, name) for name in SETTINGS_SECTIONS},
        "home": str(config.home),
        "executor": executor,
        "workers": workers,
        "limit": limit,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = out / RUN_NAME
    if path.exists():
        earlier = json.loads(path.read_text(encoding="utf-8"))
        compared = ("dataset", "settings")
        changed = _differences({k: earlier.get(k) for k in compared}, {k: run[k] for k in compared})
        if changed:
            raise ConfigError(
                f"{out} holds a run with other settings ({'; '.join(changed[:5])}); "
                "resuming would mix two systems in one report. Use another --out, or delete that folder"
            )
        run["started"] = earlier.get("started", run["started"])
    out.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    temp.replace(path)


def _settings(config: Config, section: str) -> dict[str, Any]:
    """One config section as JSON values (tuples as lists, paths as strings), less what does not change answers."""
    values = json.loads(json.dumps(dataclasses.asdict(getattr(config, section)), default=str))
    return {key: value for key, value in values.items() if key not in NOT_SETTINGS.get(section, ())}


def _differences(old: Any, new: Any, where: str = "") -> list[str]:
    """ "settings.agent.max_steps: 8 -> 3" for each leaf that differs between two JSON trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for key in keys for d in _differences(old.get(key), new.get(key), f"{where}.{key}".lstrip("."))]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


class _Schedule:
    """The two-stage pipeline over one executor, writing each finished item and drawing progress."""

    def __init__(
        self, pending: list[Item], finished: Mapping[str, dict[str, Any]], log: ResultsLog, total: int, name: str, progress: bool
    ):
        self.log = log
        self.scored = [r["correct"] for r in finished.values() if r.get("correct") is not None]
        self.bar = progress_bar(total, name, "item", initial=total - len(pending), enabled=progress)
        self.ingested = 0
        self.videos: dict[str, list[Item]] = {}
        self.ready: deque[tuple[Item, str | None, float | None]] = deque()
        for item in pending:
            if item.video is not None:
                self.videos.setdefault(str(item.video), []).append(item)
            elif item.images:
                self.ready.append((item, None, None))
            else:
                self._failed(Result(item, error="the item has neither a video nor images"))
        self.to_ingest = deque(self.videos)

    def run(self, executor: Executor) -> None:
        in_flight: dict[Any, tuple[str, Any]] = {}
        completed = False
        self._postfix()
        try:
            while self.ready or self.to_ingest or in_flight:
                self._fill(executor, in_flight)
                try:
                    finished = executor.wait()
                except WorkerDied as err:
                    raise WorkerDied(f"{err}; {RESUME_HINT}", err.lost) from None
                for handle, outcome in finished:
                    stage, what = in_flight.pop(handle)
                    if stage == "ingest":
                        self._ingested(what, outcome)
                    else:
                        self._answered(outcome)
            completed = True
        finally:
            self.bar.close()
            _close(executor, completed)

    def _fill(self, executor: Executor, in_flight: dict[Any, tuple[str, Any]]) -> None:
        """Keep every worker busy with one call queued behind it; questions first, ingests at most one per worker."""
        ingesting = sum(stage == "ingest" for stage, _ in in_flight.values())
        while len(in_flight) < 2 * executor.workers:
            if self.ready:
                item, video_id, ingest_s = self.ready.popleft()
                in_flight[executor.submit("answer", item, video_id, ingest_s)] = ("answer", item)
            elif self.to_ingest and ingesting < executor.workers:
                path = self.to_ingest.popleft()
                in_flight[executor.submit("ingest", path, *_subtitles(self.videos[path]))] = ("ingest", path)
                ingesting += 1
            else:
                return

    def _ingested(self, path: str, outcome: dict[str, Any]) -> None:
        self.ingested += 1
        items = self.videos.pop(path)
        if outcome["error"]:
            for item in items:
                self._failed(Result(item, error=f"ingest of {path} failed: {outcome['error']}"))
        else:
            self.ready.extend((item, outcome["video_id"], outcome["seconds"]) for item in items)
        self._postfix()

    def _answered(self, record: dict[str, Any]) -> None:
        self.log.append(record)
        if record.get("correct") is not None:
            self.scored.append(record["correct"])
        self.bar.update(1)
        self._postfix()

    def _failed(self, result: Result) -> None:
        """Record an item that failed before it could be asked."""
        self._answered({**item_fields(result.item), **result.to_dict()})

    def _postfix(self) -> None:
        right, count = sum(self.scored), len(self.scored)
        accuracy = f"{right / count:.1%}" if count else "-"
        videos = self.ingested + len(self.videos)
        self.bar.set_postfix_str(f"acc {accuracy} ({right}/{count}), ingested {self.ingested}/{videos}")


def _subtitles(items: list[Item]) -> tuple[str | None, float]:
    """The subtitle file of a video's items (the first that names one) and the time its clock starts at."""
    named = next((item for item in items if item.subtitles), None)
    if named is None:
        return None, 0.0
    return str(named.subtitles), float(named.extras.get("subtitle_offset", 0.0))


def _close(executor: Executor, completed: bool) -> None:
    """Wait for the workers after a full run; after a failure or Ctrl-C, drop what is queued and go."""
    try:
        executor.close(wait=completed)
    except Exception:  # closing after a failure must not hide the failure
        if completed:
            raise
