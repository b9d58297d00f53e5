"""EgoSchema (Mangalam et al., NeurIPS 2023): 5,031 five-option questions on 3-minute Ego4D clips.

Follows the files of the official repository (egoschema/EgoSchema): `questions.json`, a list
of {"q_uid", "google_drive_id", "question", "option 0" .. "option 4"}, and
`subset_answers.json`, {q_uid: index of the correct option} for the 500-question subset whose
answers are public (the rest are scored only by the authors' Kaggle server). Videos are
`videos/<q_uid>.mp4` as the download script saves them.

Only the public subset can be scored here, so only it is yielded by default;
`include_unanswered=True` yields the other questions too, with answer None.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from evals.datasets.base import Adapter, DatasetError, Item, find_video, letter_of, read_json, require

N_OPTIONS = 5


class EgoSchema(Adapter):
    name = "egoschema"
    version = "egoschema/EgoSchema questions.json + subset_answers.json (public 500-question subset)"
    bucket_keys = ()
    macro_over = None

    def __init__(self, root: str | Path, include_unanswered: bool = False):
        super().__init__(root)
        self.include_unanswered = include_unanswered

    def _items(self) -> Iterator[Item]:
        questions = read_json(self.root / "questions.json", "EgoSchema")
        answers = read_json(self.root / "subset_answers.json", "EgoSchema")
        if not isinstance(questions, list) or not isinstance(answers, dict):
            raise DatasetError(f"EgoSchema: {self.root} should hold questions.json (a list) and subset_answers.json (an object)")
        for record in questions:
            where = f"EgoSchema questions.json q_uid {record.get('q_uid', '?')}"
            require(record, ("q_uid", "question", *(f"option {i}" for i in range(N_OPTIONS))), where)
            uid = str(record["q_uid"])
            if uid not in answers and not self.include_unanswered:
                continue
            answer = answers.get(uid)
            yield Item(
                id=uid,
                video=find_video(self.root, ("videos", "video"), uid),
                question=str(record["question"]).strip(),
                options=tuple(str(record[f"option {i}"]).strip() for i in range(N_OPTIONS)),
                answer=None if answer is None else letter_of(int(answer), N_OPTIONS, where),
                extras={"google_drive_id": record.get("google_drive_id", "")},
            )
