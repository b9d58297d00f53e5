"""Video-MME (Fu et al., CVPR 2025): 900 videos, 2,700 four-option questions, short/medium/long.

Follows the release on the Hugging Face hub (lmms-lab/Video-MME): one row per question in
`videomme/test-00000-of-00001.parquet` with the columns video_id ("001"), duration
("short" | "medium" | "long"), domain, sub_category, url, videoID (the YouTube id that names
the video and subtitle files), question_id ("001-1"), task_type, question, options
(["A. ...", "B. ...", ...]) and answer ("A".."D"). Videos unpack to `data/<videoID>.mp4`
(some are .MP4 or .mkv), subtitles to `subtitle/<videoID>.srt`. The same rows as JSON or
JSONL are read too, as is the nested form of the official GitHub repository's evaluation
script (one object per video with a "questions" list); the first of JSONL, JSON and parquet
found in the folder (or in `videomme/`) is used, or the file given as `annotations`.
Parquet needs pyarrow.

Subtitles are a separate track of the benchmark: `VideoMME(root, subtitles=True)` (registered
as "videomme_subs") sets `Item.subtitles` where the video has a subtitle file; not every
video has one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from evals.datasets.base import (
    Adapter,
    DatasetError,
    Item,
    find_annotation,
    find_video,
    normalise_letter,
    read_records,
    require,
    strip_letters,
)

ANNOTATIONS = ("*.jsonl", "videomme/*.jsonl", "*.json", "videomme/*.json", "*.parquet", "videomme/*.parquet")
VIDEO_FOLDERS = ("data", "videos", "video")
SUBTITLE_FOLDERS = ("subtitle", "subtitles")
VIDEO_VISIBLE_KEYS = ("video_id", "duration", "domain", "sub_category", "url", "videoID")


class VideoMME(Adapter):
    name = "videomme"
    version = "lmms-lab/Video-MME test split (parquet columns; JSON/JSONL rows or the official nested JSON)"
    bucket_keys = ("duration", "domain", "sub_category", "task_type")
    macro_over = None

    def __init__(self, root: str | Path, subtitles: bool = False, annotations: str | Path | None = None):
        super().__init__(root)
        self.subtitles = subtitles
        if subtitles:
            self.name = "videomme_subs"
        self.annotations = (
            Path(annotations)
            if annotations
            else find_annotation(
                self.root, ANNOTATIONS, "Video-MME", "Download videomme/test-00000-of-00001.parquet from lmms-lab/Video-MME"
            )
        )

    def _items(self) -> Iterator[Item]:
        for row in _rows(read_records(self.annotations, "Video-MME")):
            yield self._item(row)

    def _item(self, row: dict[str, Any]) -> Item:
        where = f"Video-MME {self.annotations.name} question {row.get('question_id', '?')}"
        require(row, ("question_id", "question", "options", "answer"), where)
        options = strip_letters(row["options"])
        stem = _video_stem(row)
        subtitle = None
        if self.subtitles:
            subtitle = next((p for folder in SUBTITLE_FOLDERS if (p := self.root / folder / f"{stem}.srt").is_file()), None)
        buckets = {key: str(row[key]) for key in self.bucket_keys if row.get(key) not in (None, "")}
        return Item(
            id=str(row["question_id"]),
            video=find_video(self.root, VIDEO_FOLDERS, stem),
            question=str(row["question"]).strip(),
            options=options,
            answer=normalise_letter(row["answer"], len(options), where),
            subtitles=subtitle,
            buckets=buckets,
            extras={"video_id": str(row.get("video_id", "")), "url": row.get("url") or ""},
        )


def _rows(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Flat question rows, whether the file holds rows or the nested per-video form."""
    for record in records:
        if "questions" in record:
            video = {key: record[key] for key in VIDEO_VISIBLE_KEYS if key in record}
            for question in record["questions"]:
                yield {**video, **question}
        else:
            yield record


def _video_stem(row: dict[str, Any]) -> str:
    """The file name of the video: videoID, else the YouTube id in the url, else video_id."""
    if row.get("videoID"):
        return str(row["videoID"])
    url = row.get("url") or ""
    youtube_id = parse_qs(urlparse(url).query).get("v")
    if youtube_id:
        return youtube_id[0]
    if row.get("video_id"):
        return str(row["video_id"])
    raise DatasetError(f"Video-MME question {row.get('question_id', '?')} names no video (videoID, url or video_id)")
