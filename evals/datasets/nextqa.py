"""NExT-QA (Xiao et al., CVPR 2021), multiple choice: causal, temporal and descriptive questions.

Follows the official repository (doc-doc/NExT-QA): `dataset/nextqa/val.csv` (or test.csv)
with the columns video, frame_count, width, height, question, answer (index of the correct
option), qid (numbered within its video), type (CW, CH, TN, TP, TC, DC, DL, DO) and a0..a4;
`map_vid_vidorID.json` maps the video column to "<folder>/<video>", the video's path under
`NExTVideo/` without its .mp4.

As in the authors' eval_mc.py, a question is identified as "<video>_<qid>", TP (temporal,
previous) counts as TN, and the groups C, T and D are the first letter of the type.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from evals.datasets.base import Adapter, DatasetError, Item, find_video, letter_of, read_json, require

SPLITS = ("val", "test")
N_OPTIONS = 5


class NExTQA(Adapter):
    name = "nextqa"
    version = "doc-doc/NExT-QA multiple choice (val.csv / test.csv + map_vid_vidorID.json)"
    bucket_keys = ("type", "group")
    macro_over = None

    def __init__(self, root: str | Path, split: str = "val"):
        super().__init__(root)
        if split not in SPLITS:
            raise DatasetError(f"NExT-QA: split must be one of {', '.join(SPLITS)}, got {split!r}")
        candidates = (self.root, self.root / "nextqa", self.root / "dataset" / "nextqa")
        folder = next((f for f in candidates if (f / f"{split}.csv").is_file()), None)
        if folder is None:
            raise DatasetError(f"NExT-QA: no {split}.csv under {self.root}; point it at the folder holding {split}.csv")
        self.annotations = folder / f"{split}.csv"
        self.video_map_path = folder / "map_vid_vidorID.json"

    def _items(self) -> Iterator[Item]:
        video_map = read_json(self.video_map_path, "NExT-QA")
        with self.annotations.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                yield self._item(row, video_map)

    def _item(self, row: dict[str, str], video_map: dict[str, str]) -> Item:
        where = f"NExT-QA {self.annotations.name} video {row.get('video', '?')} qid {row.get('qid', '?')}"
        require(row, ("video", "qid", "question", "answer", "type", *(f"a{i}" for i in range(N_OPTIONS))), where)
        video = row["video"]
        qtype = "TN" if row["type"] == "TP" else row["type"]
        relative = video_map.get(video)
        if relative is None:
            raise DatasetError(f"{where}: video {video} is not in {self.video_map_path.name}")
        return Item(
            id=f"{video}_{row['qid']}",
            video=find_video(self.root, ("NExTVideo", "videos"), relative),
            question=row["question"].strip(),
            options=tuple(row[f"a{i}"].strip() for i in range(N_OPTIONS)),
            answer=letter_of(int(row["answer"]), N_OPTIONS, where),
            buckets={"type": qtype, "group": qtype[0]},
            extras={"original_type": row["type"], "frame_count": int(row.get("frame_count") or 0)},
        )
