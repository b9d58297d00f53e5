"""The motion sets as benchmarks: `needle:motion`, `needle:motion_heldout` and `needle:motion_ci`.

Each video is the empty room of one-by-one-person-detection.mp4 with its real visitors spliced in
at random seconds and of random lengths, some played backwards, and a camera that now and then
pans, tilts or zooms (evals/needles/motion_scene.py), asked about by evals/needles/motion_questions.py.

- motion: three videos (seeds 1-3, 9-12 minutes), what the motion answering is developed on;
- motion_heldout: three more (seeds 201-203, other lengths and mixes), for checking only, never tuning;
- motion_heldout2: three more again (seeds 301-303), made after motion_heldout had been looked at, so
  that a check on videos nobody has seen stays possible;
- motion_ci: one four-minute video, a few questions of each type.

A video's folder holds `manifest.json` (the parameters and the script, every event with its true
times) and `questions.jsonl`; one whose manifest matches is reused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evals.datasets.base import DatasetError, Item
from evals.needles.media import resolve_media
from evals.needles.motion_media import read_room, write_frames
from evals.needles.motion_questions import motion_questions
from evals.needles.motion_scene import MotionScenario, compose, frames
from evals.needles.suite import fingerprint, write_whole
from evals.records import item_fields

FORMAT = "longshot-motion-1"
GENERATOR = ("motion_media", "motion_scene")


@dataclass(frozen=True)
class MotionVideo:
    seed: int
    minutes: float
    visits: int
    backs: int
    moves: int


RECIPES: dict[str, tuple[tuple[MotionVideo, ...], int]] = {  # variant: (videos, questions per type and video)
    "motion": ((MotionVideo(1, 9, 4, 2, 2), MotionVideo(2, 11, 5, 2, 2), MotionVideo(3, 12, 4, 3, 2)), 4),
    "motion_heldout": ((MotionVideo(201, 10, 5, 2, 2), MotionVideo(202, 8, 3, 2, 2), MotionVideo(203, 13, 5, 3, 2)), 4),
    "motion_heldout2": ((MotionVideo(301, 9, 4, 3, 2), MotionVideo(302, 12, 5, 2, 2), MotionVideo(303, 10, 4, 2, 2)), 4),
    "motion_ci": ((MotionVideo(7, 4, 2, 1, 1),), 2),
}


class MotionSuite:
    """A motion set (`variant` of RECIPES) as a benchmark, built under `root` on first use."""

    name = "needle"
    version = FORMAT
    bucket_keys = ("type", "format")
    macro_over = "type"

    def __init__(self, root: str | Path, variant: str = "motion", media: str | Path | None = None):
        if variant not in RECIPES:
            raise DatasetError(f"no motion set {variant!r}; known: {', '.join(sorted(RECIPES))}")
        self.root = Path(root).expanduser()
        self.variant = variant
        self.media = media

    def items(self, limit: int | None = None) -> Iterator[Item]:
        if limit is not None and limit < 0:
            raise DatasetError(f"limit must be >= 0, got {limit}")
        videos, per_type = RECIPES[self.variant]
        media = resolve_media(self.media)
        items = [item for video in videos for item in build_motion_video(self.root, video, per_type, media)]
        return iter(items[:limit] if limit is not None else items)

    def __repr__(self) -> str:
        return f"MotionSuite({str(self.root)!r}, {self.variant!r})"


def build_motion_video(root: Path, recipe: MotionVideo, per_type: int, media: Path) -> list[Item]:
    """Build (or reuse) one motion-set video under `root`, and its questions."""
    folder = root / f"motion-seed{recipe.seed}-{recipe.minutes:g}min"
    video, manifest = folder / "motion.mp4", folder / "manifest.json"
    params = {"format": FORMAT, "recipe": recipe.__dict__, "per_type": per_type, "generator": fingerprint(GENERATOR)}
    scenario = _cached(manifest, video, params)
    if scenario is None:
        scenario = compose(recipe.seed, recipe.minutes, recipe.visits, recipe.backs, recipe.moves)
        write_frames(video, frames(scenario, read_room(media)))
        record = {"params": params, "video_bytes": video.stat().st_size, "scenario": scenario.to_dict()}
        write_whole(manifest, json.dumps(record, indent=1))
    items = motion_questions(scenario, video, per_type, f"motion-s{recipe.seed}")
    write_whole(folder / "questions.jsonl", "".join(json.dumps(item_fields(i)) + "\n" for i in items))
    return items


def _cached(manifest: Path, video: Path, params: dict) -> MotionScenario | None:
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
        if record["params"] != json.loads(json.dumps(params)) or video.stat().st_size != record["video_bytes"]:
            return None
        return MotionScenario.from_dict(record["scenario"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
