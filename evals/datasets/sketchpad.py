"""The image tasks of Visual Sketchpad (Hu et al., NeurIPS 2024), in the layout of its task folders.

Each task is a folder of item folders. BLINK (blink_depth, blink_spatial, blink_jigsaw) and
MMVP items hold `request.json` with "query" (the question, `<img src=...>` tags, then the
options inline: "(A) ... (B) ..." or MMVP's "(a) ... (b) ..."), "images" (paths into the
original repository) and "answer" ("(A)", "(b)"); the images themselves sit in the item's own
folder under the same file names, and those are the paths used. Geometry items are
Geometry3K problems: `ex.json` with "problem_text", "choices" and "answer" (a letter), and
`image.png`.

`Sketchpad(root)` reads every task folder present under `root` (macro mean over tasks, as
the paper reports per task); `Sketchpad(root, tasks=("mmvp",))` one of them. `root` may
also be a task folder itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from evals.datasets.base import (
    Adapter,
    DatasetError,
    Item,
    normalise_letter,
    read_json,
    require,
    split_inline_options,
)

TASKS = ("blink_depth", "blink_spatial", "blink_jigsaw", "mmvp", "geometry")
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)


class Sketchpad(Adapter):
    version = "Visual Sketchpad task folders (BLINK/MMVP request.json, Geometry3K ex.json)"
    bucket_keys = ("task",)

    def __init__(self, root: str | Path, tasks: tuple[str, ...] | None = None):
        super().__init__(root)
        unknown = set(tasks or ()) - set(TASKS)
        if unknown:
            raise DatasetError(f"Sketchpad: unknown task(s) {sorted(unknown)}; known: {', '.join(TASKS)}")
        self.folders = self._task_folders(tasks)
        names = tuple(self.folders)
        self.name = names[0] if len(names) == 1 else "sketchpad"
        self.macro_over = "task" if len(names) > 1 else None

    def _task_folders(self, tasks: tuple[str, ...] | None) -> dict[str, Path]:
        if self.root.name in TASKS and (tasks is None or tasks == (self.root.name,)):
            return {self.root.name: self.root}
        wanted = tasks or TASKS
        folders = {task: self.root / task for task in wanted if (self.root / task).is_dir()}
        missing = [task for task in (tasks or ()) if task not in folders]
        if missing or not folders:
            raise DatasetError(f"Sketchpad: no task folder {', '.join(missing or wanted)} under {self.root}")
        return folders

    def _items(self) -> Iterator[Item]:
        for task, folder in self.folders.items():
            for item_folder in sorted((p for p in folder.iterdir() if p.is_dir()), key=_natural):
                if task == "geometry":
                    yield _geometry_item(item_folder)
                else:
                    yield _request_item(task, item_folder)


def _request_item(task: str, folder: Path) -> Item:
    where = f"Sketchpad {task}/{folder.name}/request.json"
    record = read_json(folder / "request.json", where)
    require(record, ("query", "answer"), where)
    question, options = split_inline_options(_IMG_TAG.sub("", str(record["query"])))
    if not options:
        raise DatasetError(f"{where}: no (A) (B) ... options in its query")
    return Item(
        id=f"{task}/{folder.name}",
        images=tuple(folder / Path(str(p)).name for p in record.get("images") or ()),
        question=question,
        options=options,
        answer=normalise_letter(record["answer"], len(options), where),
        buckets={"task": task},
    )


def _geometry_item(folder: Path) -> Item:
    where = f"Sketchpad geometry/{folder.name}/ex.json"
    record = read_json(folder / "ex.json", where)
    require(record, ("problem_text", "choices", "answer"), where)
    options = tuple(str(c).strip() for c in record["choices"])
    return Item(
        id=f"geometry/{folder.name}",
        images=(folder / "image.png",),
        question=str(record["problem_text"]).strip(),
        options=options,
        answer=normalise_letter(record["answer"], len(options), where),
        buckets={"task": "geometry"},
        extras={key: record[key] for key in ("problem_type_graph", "problem_type_goal") if key in record},
    )


def _natural(path: Path) -> tuple[int, str]:
    """Item folders in numeric order where their names end in numbers (val_Jigsaw_9 before _10)."""
    digits = re.search(r"(\d+)$", path.name)
    return (int(digits.group(1)) if digits else -1, path.name)
