"""The values every benchmark adapter yields, and the small helpers they share.

An adapter reads a benchmark's annotation files exactly as its authors publish them and
yields `Item`s: one question each, options without letter prefixes, the answer as a letter.
Media paths are resolved but never opened here: a missing video is the runner's to report,
so annotations can be listed, counted and tested without downloading hundreds of gigabytes.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from app import LETTERS
from evals.grading import Truth
from perception.errors import LongshotError

VIDEO_EXTENSIONS = (".mp4", ".MP4", ".mkv", ".webm", ".avi", ".mov")

BucketValue = str | tuple[str, ...]


class DatasetError(LongshotError):
    """A benchmark folder or annotation file is missing or does not follow the published format."""


@dataclass(frozen=True, kw_only=True)
class Item:
    """One question of a benchmark.

    `answer` is a letter ("A".."J") indexing `options`, or None where the benchmark keeps
    its answers private or the question is open. `truth` scores an open question's reply by
    content (evals.grading: the code, the count, the duration, the words). `answer_span` is the (start, end) in
    seconds of the moment a "when" question asks for (or, for some benchmarks, the moment
    the answer is found). A bucket value is a tuple where the benchmark files one question
    under several categories (LVBench), and the item counts in each of them.
    """

    id: str
    question: str
    video: Path | None = None
    images: tuple[Path, ...] = ()
    options: tuple[str, ...] = ()
    answer: str | None = None
    answer_span: tuple[float, float] | None = None
    truth: Truth | None = None
    subtitles: Path | None = None
    buckets: Mapping[str, BucketValue] = field(default_factory=dict, hash=False)
    extras: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise DatasetError(f"an item has an empty id (question: {self.question[:60]!r})")
        if len(self.options) > len(LETTERS):
            raise DatasetError(f"item {self.id} has {len(self.options)} options; at most {len(LETTERS)} are supported")
        if self.answer is not None and self.answer not in self.letters:
            raise DatasetError(
                f"item {self.id}: answer {self.answer!r} is not one of its option letters {''.join(self.letters) or '(none)'}"
            )
        if self.answer_span is not None:
            start, end = self.answer_span
            if not 0 <= start <= end:
                raise DatasetError(f"item {self.id}: answer span {self.answer_span} is not a (start, end) with 0 <= start <= end")

    @property
    def letters(self) -> tuple[str, ...]:
        """The letters of the options, in order: ("A", "B", ...)."""
        return tuple(LETTERS[: len(self.options)])

    @property
    def answer_text(self) -> str | None:
        """The text of the correct option, or None."""
        return None if self.answer is None else self.options[LETTERS.index(self.answer)]

    def bucket_values(self, key: str) -> tuple[str, ...]:
        """The values this item has under one bucket key (none, one, or several)."""
        value = self.buckets.get(key)
        if value is None:
            return ()
        return value if isinstance(value, tuple) else (value,)


@runtime_checkable
class DatasetIdentity(Protocol):
    """A benchmark's identity and breakdowns: what the metrics need, also rebuilt from a finished run.

    `version` says which release and file format the adapter follows. `bucket_keys` are the
    breakdowns the benchmark reports; `macro_over` names the bucket key whose per-value
    accuracies the benchmark averages for its headline number (MLVU's M-Avg), or is None
    where the headline is plain accuracy over all questions.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def bucket_keys(self) -> tuple[str, ...]: ...

    @property
    def macro_over(self) -> str | None: ...


class Dataset(DatasetIdentity, Protocol):
    """What the runner needs from a benchmark: its identity and its questions."""

    def items(self, limit: int | None = None) -> Iterator[Item]: ...


def describe(dataset: DatasetIdentity) -> dict[str, Any]:
    """The dataset's identity, as written at the top of a summary."""
    return {
        "name": dataset.name,
        "version": dataset.version,
        "bucket_keys": list(dataset.bucket_keys),
        "macro_over": dataset.macro_over,
    }


class Adapter:
    """Common ground of the benchmark adapters: a checked root folder and `items(limit)`."""

    name: str = ""
    version: str = ""
    bucket_keys: tuple[str, ...] = ()
    macro_over: str | None = None

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        if not self.root.exists():
            raise DatasetError(f"{self.name}: {self.root} does not exist; point it at the benchmark as downloaded")

    def items(self, limit: int | None = None) -> Iterator[Item]:
        if limit is not None and limit < 0:
            raise DatasetError(f"limit must be >= 0, got {limit}")
        return itertools.islice(self._items(), limit)

    def _items(self) -> Iterator[Item]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"


# --- reading annotation files -------------------------------------------------------------


def find_annotation(root: Path, patterns: Sequence[str], benchmark: str, hint: str) -> Path:
    """The one annotation file under `root` matching the first pattern that matches anything.

    `root` may also be the file itself. Several matches for one pattern are an error: guessing
    between two releases would score the wrong one.
    """
    if root.is_file():
        return root
    for pattern in patterns:
        found = sorted(p for p in root.glob(pattern) if p.is_file())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(str(p.relative_to(root)) for p in found)
            raise DatasetError(f"{benchmark}: several annotation files in {root} ({names}); pass annotations=<file>")
    raise DatasetError(f"{benchmark}: no annotation file in {root} (looked for {', '.join(patterns)}). {hint}")


def read_json(path: Path, benchmark: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{benchmark}: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{benchmark}: {path} is not valid JSON ({exc})") from None


def read_jsonl(path: Path, benchmark: str) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file, one per non-blank line, each checked to be an object."""
    try:
        lines = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{benchmark}: {path} is missing") from None
    with lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{benchmark}: {path} line {number} is not valid JSON ({exc})") from None
            if not isinstance(record, dict):
                raise DatasetError(f"{benchmark}: {path} line {number} is not a JSON object")
            yield record


def read_records(path: Path, benchmark: str) -> list[dict[str, Any]]:
    """Rows of a .json (a list of objects), .jsonl or .parquet annotation file."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return list(read_jsonl(path, benchmark))
    if suffix == ".parquet":
        return read_parquet(path, benchmark)
    data = read_json(path, benchmark)
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise DatasetError(f"{benchmark}: {path} should hold a JSON list of objects")
    return data


def read_parquet(path: Path, benchmark: str) -> list[dict[str, Any]]:
    """Rows of a parquet file, list columns as Python lists; pandas needs pyarrow or fastparquet."""
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DatasetError(
            f"{benchmark}: reading {path.name} needs pyarrow, which is not installed. "
            "Run `pip install pyarrow`, or use the benchmark's JSON/JSONL annotations instead"
        ) from None
    except Exception as exc:  # the parquet engines raise several unrelated types for a damaged file
        raise DatasetError(f"{benchmark}: {path} cannot be read as parquet ({exc})") from None
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    """numpy arrays and scalars from a parquet column as plain Python values."""
    return value.tolist() if hasattr(value, "tolist") else value


def require(record: Mapping[str, Any], keys: Iterable[str], where: str) -> None:
    """Raise a DatasetError naming the first key the record lacks."""
    for key in keys:
        if key not in record or record[key] is None:
            raise DatasetError(f"{where} lacks the field {key!r}; is this the published annotation format?")


# --- options and letters ------------------------------------------------------------------

_LETTER_PREFIX = re.compile(r"^\s*[\(\[]?([A-Ja-j])\s*[\.\)\]:]\s*")


def strip_letter(option: str, letter: str) -> str:
    """ "A. red" -> "red" when the prefix is the option's own letter; other text is left alone."""
    match = _LETTER_PREFIX.match(option)
    if match and match.group(1).upper() == letter:
        return option[match.end() :].strip()
    return option.strip()


def strip_letters(options: Sequence[str]) -> tuple[str, ...]:
    return tuple(strip_letter(str(option), LETTERS[i]) for i, option in enumerate(options))


def letter_of(index: int, n_options: int, where: str) -> str:
    if not 0 <= index < n_options:
        raise DatasetError(f"{where}: answer index {index} is outside its {n_options} options")
    return LETTERS[index]


def normalise_letter(value: Any, n_options: int, where: str) -> str:
    """A published answer as a letter: "B", "(b)", "B." or an index (1 -> "B")."""
    if isinstance(value, bool):
        raise DatasetError(f"{where}: answer {value!r} is neither a letter nor an index")
    if isinstance(value, int):
        return letter_of(value, n_options, where)
    text = str(value).strip().strip("()[]").rstrip(".").strip()
    if text.isdigit():
        return letter_of(int(text), n_options, where)
    if len(text) == 1 and text.upper() in LETTERS[:n_options]:
        return text.upper()
    raise DatasetError(f"{where}: answer {value!r} is not one of the letters {LETTERS[:n_options]}")


_MARKER = re.compile(r"\(([A-Ja-j])\)")
_LEAD_IN = re.compile(r"(?:select from the following choices|options|choices|answer choices)\s*[:.]?\s*$", re.IGNORECASE)


def split_inline_options(text: str) -> tuple[str, tuple[str, ...]]:
    """Split "Question? (A) red (B) blue" into the question and ("red", "blue").

    The options are the last run of markers (A), (B), (C)... in order (lower case too), so
    an "(a)" inside the question itself does not start a run that lacks its (b). Lead-ins
    such as "Options:" or "Select from the following choices." are dropped from the question.
    Text without such a run comes back unchanged with no options.
    """
    markers = list(_MARKER.finditer(text))
    for start in range(len(markers) - 1, -1, -1):
        if markers[start].group(1).upper() != "A":
            continue
        run = [markers[start]]
        for marker in markers[start + 1 :]:
            if marker.group(1).upper() == LETTERS[len(run)]:
                run.append(marker)
        if len(run) < 2:
            continue
        bounds = [m.start() for m in run] + [len(text)]
        options = tuple(text[run[i].end() : bounds[i + 1]].strip() for i in range(len(run)))
        question = _LEAD_IN.sub("", text[: run[0].start()].rstrip()).strip()
        return question, options
    return text.strip(), ()


# --- media paths --------------------------------------------------------------------------


def find_video(root: Path, folders: Sequence[str], stem: str) -> Path:
    """The video `stem` under the first of `folders` where it exists with a known extension.

    A release may unpack to any of a few folder names and extensions; when the file is in
    none of them the first candidate is returned, so the runner can name where it looked.
    """
    name = Path(stem)
    for folder in folders:
        base = root / folder / name
        if name.suffix:
            if base.is_file():
                return base
            continue
        for ext in VIDEO_EXTENSIONS:
            candidate = base.with_name(base.name + ext)
            if candidate.is_file():
                return candidate
    first = root / folders[0] / name
    return first if name.suffix else first.with_name(first.name + VIDEO_EXTENSIONS[0])
