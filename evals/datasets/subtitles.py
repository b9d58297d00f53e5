"""Subtitle files as the benchmarks ship them, read into timed cues.

Video-MME ships SubRip (.srt); LongVideoBench ships JSON lists of cues, either
{"start": "0:00:01.5", "end": "0:00:03", "line": ...} or {"timestamp": [1.5, 3.0], "text": ...}
(an end of null means "to the end of the video"), on a clock that starts at the item's
`extras["subtitle_offset"]`. WebVTT is read like SubRip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from evals.datasets.base import DatasetError, parse_clock

_CLOCK = r"\d+(?::\d{1,2}){1,2}(?:[.,]\d+)?"
_SRT_TIME = re.compile(rf"({_CLOCK})\s*-->\s*({_CLOCK})")
_TAG = re.compile(r"<[^>]+>|\{\\[^}]*\}")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def read_subtitles(path: str | Path, offset: float = 0.0, duration: float | None = None) -> list[Cue]:
    """The cues of an .srt, .vtt or LongVideoBench .json file, in video time (file time - offset)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise DatasetError(f"subtitle file {path} is missing") from None
    cues = _json_cues(raw, path, duration) if path.suffix.lower() == ".json" else _srt_cues(raw)
    return [Cue(max(0.0, c.start - offset), max(0.0, c.end - offset), c.text) for c in cues if c.text]


def _srt_cues(raw: str) -> list[Cue]:
    cues = []
    for block in re.split(r"\n\s*\n", raw.replace("\r\n", "\n")):
        lines = block.strip().split("\n")
        for i, line in enumerate(lines):
            match = _SRT_TIME.search(line)
            if match:
                text = " ".join(_TAG.sub("", t).strip() for t in lines[i + 1 :] if t.strip())
                start, end = (parse_clock(t.replace(",", ".")) for t in match.groups())
                cues.append(Cue(start, end, text))
                break
    return cues


def _json_cues(raw: str, path: Path, duration: float | None) -> list[Cue]:
    try:
        records = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"subtitle file {path} is not valid JSON ({exc})") from None
    cues = []
    for record in records if isinstance(records, list) else ():
        if "timestamp" in record:
            start, end = record["timestamp"]
            end = end if isinstance(end, (int, float)) else (duration if duration is not None else start)
            cues.append(Cue(float(start), float(end), str(record.get("text", "")).strip()))
        elif "start" in record and "end" in record:
            start, end = parse_clock(str(record["start"])), parse_clock(str(record["end"]))
            cues.append(Cue(start, end, str(record.get("line", "")).strip()))
    return cues
