"""LVBench (Wang et al., 2024): 1,549 four-option questions on 103 videos of about an hour or more.

Follows `video_info.meta.jsonl` from the Hugging Face hub (THUDM/LVBench): one line per video
with "key" (the YouTube id that names the video file), "type" (cartoon, documentary, live,
selfmedia, sport, tv), "video_info" and "qa", a list of {"uid", "question" (the options
inline: "...?\n(A) ...\n(B) ...\n(C) ...\n(D) ..."), "answer" (a letter), "question_type"
(a list: a question may count in several of key information retrieval, event understanding,
summarization, entity recognition, reasoning, temporal grounding), "time_reference"
("mm:ss-mm:ss", the moment the answer is found)}. Videos are `videos/<key>.mp4`.

A question counts in every category it lists, as in the authors' compute_accuracy.py; the
time reference becomes `answer_span` (the hull of all ranges when there are several).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.datasets.base import (
    Adapter,
    DatasetError,
    Item,
    find_annotation,
    find_video,
    normalise_letter,
    read_jsonl,
    require,
    split_inline_options,
)
from perception.subtitles import parse_clock

VIDEO_FOLDERS = ("videos", "all_videos", "video", "scripts/videos")
_CLOCK = r"\d+(?::\d+){0,2}(?:\.\d+)?"
_RANGE = re.compile(rf"({_CLOCK})\s*[-~–]\s*({_CLOCK})")


class LVBench(Adapter):
    name = "lvbench"
    version = "THUDM/LVBench video_info.meta.jsonl"
    bucket_keys = ("question_type", "video_type")
    macro_over = None

    def __init__(self, root: str | Path):
        super().__init__(root)
        self.annotations = find_annotation(
            self.root,
            ("video_info.meta.jsonl", "data/video_info.meta.jsonl"),
            "LVBench",
            "Download video_info.meta.jsonl from THUDM/LVBench",
        )
        self.video_root = self.root if self.root.is_dir() else self.root.parent

    def _items(self) -> Iterator[Item]:
        for record in read_jsonl(self.annotations, "LVBench"):
            require(record, ("key", "qa"), f"LVBench {self.annotations.name} video")
            for qa in record["qa"]:
                yield self._item(record, qa)

    def _item(self, record: dict[str, Any], qa: dict[str, Any]) -> Item:
        where = f"LVBench video {record['key']} question {qa.get('uid', '?')}"
        require(qa, ("uid", "question", "answer"), where)
        question, options = split_inline_options(str(qa["question"]))
        if not options:
            raise DatasetError(f"{where}: no (A) (B) ... options in its question text")
        buckets: dict[str, str | tuple[str, ...]] = {}
        if qa.get("question_type"):
            kinds = qa["question_type"]
            buckets["question_type"] = tuple(kinds) if isinstance(kinds, list) else (str(kinds),)
        if record.get("type"):
            buckets["video_type"] = str(record["type"])
        reference = str(qa.get("time_reference") or "")
        return Item(
            id=str(qa["uid"]),
            video=find_video(self.video_root, VIDEO_FOLDERS, str(record["key"])),
            question=question,
            options=options,
            answer=normalise_letter(qa["answer"], len(options), where),
            answer_span=parse_time_reference(reference),
            buckets=buckets,
            extras={"video_key": str(record["key"]), "time_reference": reference},
        )


def parse_time_reference(text: str) -> tuple[float, float] | None:
    """ "01:10-01:25" -> (70.0, 85.0); several ranges -> their hull; anything else -> None."""
    ranges = [(parse_clock(a), parse_clock(b)) for a, b in _RANGE.findall(text)]
    ranges = [(min(a, b), max(a, b)) for a, b in ranges]
    if not ranges:
        return None
    return min(a for a, _ in ranges), max(b for _, b in ranges)
