"""The needle sets as benchmarks: `needle:full`, `needle:heldout`, `needle:heldout2` and `needle:ci`, built once and cached.

    dataset = get_dataset("needle:full", "~/.longshot/datasets/needle")
    for item in dataset.items(): ...

- full: three videos of 36, 45 and 54 minutes from the `main` pools and the surveillance
  and product footage; what the policy is developed and measured on.
- heldout: three more (33, 42, 51 minutes) from the `heldout` pools (other announcements,
  notices and code labels) over other footage (animation, sports, cooking, hand-held
  clips), with other seeds; for checking, never for tuning.
- heldout2: three more held-out videos (seeds 201-203, 37, 48, 31 minutes), from the same pools
  and footage as heldout; built and left unread until a change is done, then run once to check it.
- ci: one six-minute video with fewer, shorter needles and a few questions of each type.

Each video lives in its own folder under the root with `manifest.json` (the parameters it
was built from and every event with its true start and end) and `questions.jsonl` (the
items, for reading). A folder whose manifest matches the parameters and whose video is
intact is reused; anything else is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.datasets.base import DatasetError, Item
from evals.needles.media import resolve_media
from evals.needles.questions import questions
from evals.needles.render import Drawn, Said, render
from evals.needles.scenario import Scenario, Sizes, compose
from evals.records import item_fields

FORMAT = "longshot-needle-2"
VIDEO_NAME = "needle.mp4"
MANIFEST_NAME = "manifest.json"
QUESTIONS_NAME = "questions.jsonl"
FPS = 5

MAIN_FOOTAGE = (
    "video/one-by-one-person-detection.mp4",
    "video/bottle-detection.mp4",
    "video/car-detection.mp4",
    "video/vtest.avi",
)
HELDOUT_FOOTAGE = (
    "video/big_buck_bunny_0_30.webm",
    "video/yoga.mp4",
    "video/making_cake.mp4",
    "video/playing_guitar.mp4",
    "video/hitting_baseball.mp4",
    "video/arm_wrestling.mp4",
    "video/cup.mp4",
    "video/flipping_a_pancake.mkv",
)
LONG = Sizes(codes=3, notices=6, announcements=7, readings=3, after=2, during=2, longest=90.0, gap=15.0)
GENERATOR = ("content", "media", "plan", "render", "scenario")  # the modules a video and its manifest are made by
SHORT = Sizes(codes=2, notices=4, announcements=3, readings=2, after=1, during=1, longest=25.0, gap=6.0)


@dataclass(frozen=True)
class Recipe:
    """A needle set: which split's pools, which videos (seed, minutes), over which footage, how many questions."""

    split: str
    videos: tuple[tuple[int, float], ...]
    footage: tuple[str, ...]
    sizes: Sizes
    per_type: int


RECIPES = {
    "full": Recipe("main", ((1, 36), (2, 45), (3, 54)), MAIN_FOOTAGE, LONG, per_type=4),
    "heldout": Recipe("heldout", ((101, 33), (102, 42), (103, 51)), HELDOUT_FOOTAGE, LONG, per_type=4),
    "heldout2": Recipe("heldout", ((201, 37), (202, 48), (203, 31)), HELDOUT_FOOTAGE, LONG, per_type=4),
    "ci": Recipe("main", ((7, 6),), MAIN_FOOTAGE, SHORT, per_type=3),
}


@dataclass(frozen=True)
class NeedleVideo:
    """One built video: where it is, its script, and its questions."""

    video: Path
    manifest: Path
    scenario: Scenario
    items: tuple[Item, ...]


class NeedleSuite:
    """A needle set (`variant` full, heldout or ci) as a benchmark, built under `root` on first use.

    `seeds` and `minutes` replace the recipe's videos (one length per seed, or one for all).
    """

    name = "needle"
    version = FORMAT
    bucket_keys = ("type", "format", "modality")
    macro_over = "type"

    def __init__(
        self,
        root: str | Path,
        variant: str = "full",
        media: str | Path | None = None,
        seeds: Sequence[int] | None = None,
        minutes: float | Sequence[float] | None = None,
    ):
        if variant not in RECIPES:
            raise DatasetError(f"no needle set {variant!r}; known: {', '.join(sorted(RECIPES))} (and classic)")
        self.root = Path(root).expanduser()
        self.variant = variant
        self.media = media
        self.recipe = _with_videos(RECIPES[variant], seeds, minutes)

    def build(self) -> list[NeedleVideo]:
        media = resolve_media(self.media)
        return [
            build_video(
                self.root / f"{self.variant}-{self.recipe.split}-seed{seed}-{minutes:g}min", self.recipe, seed, minutes, media
            )
            for seed, minutes in self.recipe.videos
        ]

    def items(self, limit: int | None = None) -> Iterator[Item]:
        if limit is not None and limit < 0:
            raise DatasetError(f"limit must be >= 0, got {limit}")
        items = [item for video in self.build() for item in video.items]
        return iter(items[:limit] if limit is not None else items)

    def __repr__(self) -> str:
        return f"NeedleSuite({str(self.root)!r}, {self.variant!r})"


def build_video(folder: Path, recipe: Recipe, seed: int, minutes: float, media: Path) -> NeedleVideo:
    """Build (or reuse) one needle video and its questions in `folder`."""
    if not 1 <= minutes <= 600:
        raise DatasetError(f"a needle video lasts 1 to 600 minutes, got {minutes:g}")
    footage = _footage(recipe, seed, media)
    params = _as_json(
        {
            "format": FORMAT,
            "split": recipe.split,
            "seed": seed,
            "minutes": float(minutes),
            "sizes": asdict(recipe.sizes),
            "per_type": recipe.per_type,
            "fps": FPS,
            "footage": [{"path": str(p), "bytes": p.stat().st_size} for p in footage],
            "content": fingerprint(GENERATOR),
        }
    )
    video, manifest = folder / VIDEO_NAME, folder / MANIFEST_NAME
    scenario = _cached(folder, params)
    if scenario is None:
        for stale in (manifest, video):
            stale.unlink(missing_ok=True)
        scenario, audio = compose(round(minutes * 60, 2), recipe.split, seed, recipe.sizes, media)
        drawn = [Drawn(e.text, e.start, e.end, e.look) for e in scenario.events if e.look is not None]
        said = [Said(e.start, audio[e.subject]) for e in scenario.events if e.kind == "speech"]
        render(video, footage, scenario.duration, FPS, drawn, said)
        record = {"params": params, "video": VIDEO_NAME, "video_bytes": video.stat().st_size, "scenario": scenario.to_dict()}
        write_whole(manifest, json.dumps(record, indent=1))
    items = tuple(questions(scenario, video, recipe.per_type, f"needle-{recipe.split}-s{seed}"))
    write_whole(folder / QUESTIONS_NAME, "".join(json.dumps(item_fields(i)) + "\n" for i in items))
    return NeedleVideo(video, manifest, scenario, items)


def _with_videos(recipe: Recipe, seeds: Sequence[int] | None, minutes: float | Sequence[float] | None) -> Recipe:
    if seeds is None and minutes is None:
        return recipe
    seeds = list(seeds) if seeds is not None else [seed for seed, _ in recipe.videos]
    if minutes is None:
        lengths = [m for _, m in recipe.videos]
    else:
        lengths = [float(m) for m in minutes] if isinstance(minutes, Sequence) else [float(minutes)] * len(seeds)
    if len(lengths) != len(seeds) or not seeds:
        raise DatasetError(f"give one length per seed: {len(seeds)} seeds, {len(lengths)} lengths")
    return Recipe(recipe.split, tuple(zip(seeds, lengths)), recipe.footage, recipe.sizes, recipe.per_type)


def _footage(recipe: Recipe, seed: int, media: Path) -> list[Path]:
    """The recipe's clips in a seeded order, each checked to exist."""
    paths = [media / clip for clip in recipe.footage]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(f"footage missing from the media folder {media}: {', '.join(missing)}")
    random.Random(f"footage:{seed}").shuffle(paths)
    return paths


def fingerprint(modules: Sequence[str]) -> str:
    """A hash of the generator's source (pools, planner, looks, rendering: `modules` of this package), so a
    set built by other code is not reused."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(__file__).with_name(f"{module}.py").read_bytes())
    return digest.hexdigest()[:16]


def _cached(folder: Path, params: dict[str, Any]) -> Scenario | None:
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        if manifest["params"] != params or (folder / VIDEO_NAME).stat().st_size != manifest["video_bytes"]:
            return None
        return Scenario.from_dict(manifest["scenario"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _as_json(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples become lists), so a cached manifest compares equal."""
    return json.loads(json.dumps(value))


def write_whole(path: Path, text: str) -> None:
    """Write through a temporary name, so a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
