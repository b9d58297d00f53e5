"""MLVU (Zhou et al., 2024), dev set: multi-task long video understanding, 3 minutes to 2 hours.

Follows the dev release on the Hugging Face hub (MLVU/MVLU): one JSON file per task in
`MLVU/json/` (1_plotQA, 2_needle, 3_ego, 4_count, 5_order, 6_anomaly_reco,
7_topic_reasoning), each a list of {"video", "duration", "question", "candidates", "answer"
(the text of the correct candidate), "question_type"}, with the videos in
`MLVU/video/<json name>/<video>`. The generation tasks (8_sub_scene, 9_summary) have no
candidates and are judged by a language model in the paper; they are left out.

The benchmark's headline number, M-Avg, is the mean of the per-task accuracies, so
`macro_over = "task"`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from evals.datasets.base import LETTERS, Adapter, DatasetError, Item, find_video, read_json, require

JSON_FOLDERS = ("json", "MLVU/json")


class MLVU(Adapter):
    name = "mlvu"
    version = "MLVU dev (MLVU/json/<n>_<task>.json, multiple-choice tasks 1-7)"
    bucket_keys = ("task",)
    macro_over = "task"

    def __init__(self, root: str | Path):
        super().__init__(root)
        folder = next((self.root / f for f in JSON_FOLDERS if (self.root / f).is_dir()), None)
        if folder is None:
            raise DatasetError(f"MLVU: no json/ folder under {self.root}; point it at the MLVU folder of the dev release")
        self.json_folder = folder
        self.video_root = folder.parent

    def _items(self) -> Iterator[Item]:
        for path in sorted(self.json_folder.glob("*.json")):
            records = read_json(path, "MLVU")
            if not isinstance(records, list):
                raise DatasetError(f"MLVU: {path} should hold a JSON list")
            for index, record in enumerate(records):
                if "candidates" not in record:
                    continue  # a generation task
                yield self._item(path, index, record)

    def _item(self, path: Path, index: int, record: dict) -> Item:
        where = f"MLVU {path.name} entry {index}"
        require(record, ("video", "question", "candidates", "answer"), where)
        options = tuple(str(c).strip() for c in record["candidates"])
        task = str(record.get("question_type") or path.stem.split("_", 1)[-1])
        short_task = path.stem.split("_", 1)[-1]
        folders = (f"video/{path.stem}", f"video/{short_task}", f"video/{task}", "video")
        return Item(
            id=f"{path.stem}/{index}",
            video=find_video(self.video_root, folders, str(record["video"])),
            question=str(record["question"]).strip(),
            options=options,
            answer=_answer_letter(options, str(record["answer"]), where),
            buckets={"task": task},
            extras={"duration": record.get("duration")},
        )


def _answer_letter(options: tuple[str, ...], answer: str, where: str) -> str:
    """MLVU gives the answer as the candidate's text; match it exactly, then ignoring case and spacing."""
    for key in (str.strip, _squash):
        hits = [i for i, option in enumerate(options) if key(option) == key(answer)]
        if len(hits) == 1:
            return LETTERS[hits[0]]
    raise DatasetError(f"{where}: answer {answer!r} is not exactly one of its candidates {list(options)}")


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()
