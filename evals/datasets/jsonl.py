"""Longshot's own question format: one JSON object per line, for sets that no benchmark publishes.

Each line holds:

    {"id": "q1",                         optional; the line number otherwise
     "video": "clips/a.mp4",             or "images": ["a.png", ...] for image questions
     "question": "What is on the sign?",
     "options": ["STOP", "YIELD"],       optional; "A. " prefixes are stripped
     "answer": "B",                      a letter, "(B)", an index, or the option's text;
                                         free text for a question without options
     "span": [12.0, 15.5],               optional: the moment a "when" question asks for
     "subtitles": "clips/a.srt",         optional
     "buckets": {"duration": "short"},   optional
     ...}                                any other field is kept in Item.extras

Relative paths are relative to the JSONL file's folder. `root` is the file, or a folder
holding exactly one .jsonl file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.datasets.base import (
    LETTERS,
    Adapter,
    DatasetError,
    Item,
    find_annotation,
    normalise_letter,
    read_jsonl,
    strip_letters,
)

KNOWN_FIELDS = {"id", "video", "images", "question", "options", "answer", "span", "answer_span", "subtitles", "buckets"}


class JsonlDataset(Adapter):
    version = "longshot generic JSONL v1"

    def __init__(self, root: str | Path, bucket_keys: tuple[str, ...] | None = None, macro_over: str | None = None):
        super().__init__(root)
        self.path = find_annotation(self.root, ("*.jsonl",), "JSONL", "Give the .jsonl file itself")
        self.name = self.path.stem
        self.macro_over = macro_over
        self.bucket_keys = tuple(bucket_keys) if bucket_keys is not None else self._seen_bucket_keys()
        if macro_over is not None and macro_over not in self.bucket_keys:
            raise DatasetError(f"{self.path.name}: macro_over={macro_over!r} is not one of its bucket keys {self.bucket_keys}")

    def _seen_bucket_keys(self) -> tuple[str, ...]:
        keys: dict[str, None] = {}
        for record in read_jsonl(self.path, self.path.name):
            keys.update(dict.fromkeys(record.get("buckets") or {}))
        return tuple(keys)

    def _items(self) -> Iterator[Item]:
        seen: set[str] = set()
        for number, record in enumerate(read_jsonl(self.path, self.path.name), 1):
            item = self._item(number, record)
            if item.id in seen:
                raise DatasetError(f"{self.path.name} line {number}: id {item.id!r} is used twice")
            seen.add(item.id)
            yield item

    def _item(self, number: int, record: dict[str, Any]) -> Item:
        where = f"{self.path.name} line {number}"
        if not record.get("question"):
            raise DatasetError(f"{where} has no question")
        options = strip_letters(record.get("options") or ())
        answer, answer_text = _answer(record.get("answer"), options, where)
        span = record.get("span", record.get("answer_span"))
        extras = {k: v for k, v in record.items() if k not in KNOWN_FIELDS}
        if answer_text is not None:
            extras["answer_text"] = answer_text
        return Item(
            id=str(record.get("id", number)),
            video=self._path(record.get("video")),
            images=tuple(self._image(p, where) for p in record.get("images") or ()),
            question=str(record["question"]).strip(),
            options=options,
            answer=answer,
            answer_span=_span(span, where),
            subtitles=self._path(record.get("subtitles")),
            buckets={str(k): _bucket(v) for k, v in (record.get("buckets") or {}).items()},
            extras=extras,
        )

    def _path(self, value: Any) -> Path | None:
        if not value:
            return None
        path = Path(str(value)).expanduser()
        return path if path.is_absolute() else self.path.parent / path

    def _image(self, value: Any, where: str) -> Path:
        """An entry of "images": unlike "video" or "subtitles", an empty one is a mistake, not an absence."""
        path = self._path(value)
        if path is None:
            raise DatasetError(f"{where}: an entry of images is empty ({value!r})")
        return path


def _answer(value: Any, options: tuple[str, ...], where: str) -> tuple[str | None, str | None]:
    """(letter, free text): a letter or index for choice questions, text for open ones."""
    if value is None:
        return None, None
    if not options:
        return None, str(value)
    if isinstance(value, str):
        matches = [i for i, option in enumerate(options) if option.casefold() == value.strip().casefold()]
        if len(matches) == 1 and len(value.strip()) > 1:
            return LETTERS[matches[0]], None
    return normalise_letter(value, len(options), where), None


def _span(value: Any, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        start, end = (float(v) for v in value)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: span {value!r} should be [start, end] in seconds") from None
    return start, end


def _bucket(value: Any) -> str | tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else str(value)
