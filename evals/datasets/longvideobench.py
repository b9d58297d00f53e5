"""LongVideoBench (Wu et al., NeurIPS 2024): referring reasoning over videos up to an hour, with subtitles.

Follows the release on the Hugging Face hub (longvideobench/LongVideoBench) as read by the
authors' dataloader: `lvb_val.json` (and `lvb_test_wo_gt.json`, without answers), a list of
{"id", "video_id", "video_path", "subtitle_path", "question", "candidates" (also flattened as
option0..option4), "correct_choice" (index), "duration", "duration_group" (15, 60, 600 or
3600: the upper bound in seconds of the video's length group), "question_category" (S2E,
T3O, ...), "topic_category", "level", "starting_timestamp_for_subtitles"}. Videos are
`videos/<video_path>`, subtitles `subtitles/<subtitle_path>` (JSON cues; see
`perception.subtitles`). The subtitle clock starts at starting_timestamp_for_subtitles,
kept in `extras["subtitle_offset"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.datasets.base import Adapter, DatasetError, Item, find_video, normalise_letter, read_json, require

SPLITS = {"val": "lvb_val.json", "test": "lvb_test_wo_gt.json"}
BUCKET_FIELDS = {"duration": "duration_group", "qtype": "question_category", "topic": "topic_category", "level": "level"}


class LongVideoBench(Adapter):
    name = "longvideobench"
    version = "longvideobench/LongVideoBench lvb_val.json (dataloader format)"
    bucket_keys = tuple(BUCKET_FIELDS)
    macro_over = None

    def __init__(self, root: str | Path, split: str = "val"):
        super().__init__(root)
        if split not in SPLITS:
            raise DatasetError(f"LongVideoBench: split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.split = split
        self.annotations = self.root if self.root.is_file() else self.root / SPLITS[split]
        self.data_root = self.annotations.parent

    def _items(self) -> Iterator[Item]:
        records = read_json(self.annotations, "LongVideoBench")
        if not isinstance(records, list):
            raise DatasetError(f"LongVideoBench: {self.annotations} should hold a JSON list")
        for record in records:
            yield self._item(record)

    def _item(self, record: dict[str, Any]) -> Item:
        where = f"LongVideoBench {self.annotations.name} id {record.get('id', '?')}"
        require(record, ("id", "video_path", "question"), where)
        options = _options(record, where)
        answer = record.get("correct_choice")
        subtitle = record.get("subtitle_path")
        buckets = {key: _label(record[field]) for key, field in BUCKET_FIELDS.items() if record.get(field) is not None}
        return Item(
            id=str(record["id"]),
            video=find_video(self.data_root, ("videos",), str(record["video_path"])),
            question=str(record["question"]).strip(),
            options=options,
            answer=None if answer in (None, -1) else normalise_letter(answer, len(options), where),
            subtitles=self.data_root / "subtitles" / subtitle if subtitle else None,
            buckets=buckets,
            extras={
                "video_id": str(record.get("video_id", "")),
                "duration": record.get("duration"),
                "subtitle_offset": float(record.get("starting_timestamp_for_subtitles") or 0.0),
            },
        )


def _options(record: dict[str, Any], where: str) -> tuple[str, ...]:
    """The candidates list, or option0..option4 without the empty slots of four-option questions."""
    if record.get("candidates"):
        return tuple(str(c).strip() for c in record["candidates"])
    slots = (record.get(f"option{i}") for i in range(5))
    options = tuple(str(option).strip() for option in slots if option not in (None, "", "N/A"))
    if not options:
        raise DatasetError(f"{where} has neither candidates nor option0..option4")
    return options


def _label(value: Any) -> str:
    """Bucket labels as text; duration groups 600.0 -> "600"."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
