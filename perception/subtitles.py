"""Subtitles and other timed text, read into cues on the video's clock.

Formats, chosen by the file's suffix:

- SubRip (.srt), as Video-MME ships it: numbered blocks, `00:00:01,500 --> 00:00:03,000`.
- WebVTT (.vtt): a `WEBVTT` header, optional cue identifiers, cue settings after the times
  (`align:start position:10%`), NOTE, STYLE and REGION blocks (skipped), voice and class
  tags (`<v Anna>`, `<c.yellow>`) and inline timestamps (dropped), HTML entities (decoded).
- JSON cues, as LongVideoBench ships them: {"start": "0:00:01.5", "end": "0:00:03", "line": ...}
  or {"timestamp": [1.5, 3.0], "text": ...}, where an end of null means "to the end of the video".

A cue's times are the file's minus `offset` (LongVideoBench's subtitle clock starts at the
item's `starting_timestamp_for_subtitles`), never below 0, and never ending before they start.
`sidecar(video)` finds a subtitle file that sits beside a video under its name.
"""

from __future__ import annotations

import glob
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from perception.errors import SubtitleError

SUFFIXES = (".srt", ".vtt", ".json")
_CLOCK = r"\d+(?::\d{1,2}){1,2}(?:[.,]\d+)?"
_TIMES = re.compile(rf"({_CLOCK})\s*-->\s*({_CLOCK})")
_TAG = re.compile(r"<[^>]+>|\{\\[^}]*\}")  # <i>, <v Anna>, <00:00:01.000>, {\an8}
_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION", "WEBVTT")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def read_subtitles(path: str | Path, offset: float = 0.0, duration: float | None = None) -> list[Cue]:
    """The cues of an .srt, .vtt or .json file, in video time (file time - offset), in the file's order.

    `duration` ends the JSON cues whose end is null. Raises SubtitleError for a missing or
    unreadable file, an unknown suffix, or JSON that is not a list of cues.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise SubtitleError(f"{path.name} is not a subtitle file; give an {', '.join(SUFFIXES)} file")
    try:
        raw = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise SubtitleError(f"subtitle file {path} is missing") from None
    except OSError as err:
        raise SubtitleError(f"cannot read the subtitle file {path}: {err.strerror or err}") from None
    cues = _json_cues(raw, path, duration) if path.suffix.lower() == ".json" else _text_cues(raw)
    return [Cue(max(0.0, c.start - offset), max(0.0, c.start - offset, c.end - offset), c.text) for c in cues if c.text]


def sidecar(video: str | Path) -> Path | None:
    """A subtitle file beside `video` named after it (`talk.srt`, `talk.vtt`, `talk.en.srt`...), or None."""
    video = Path(video)
    for suffix in SUFFIXES[:2]:
        exact = video.with_suffix(suffix)
        if exact.is_file():
            return exact
    tagged = sorted(p for suffix in SUFFIXES[:2] for p in video.parent.glob(f"{glob.escape(video.stem)}.*{suffix}"))
    return tagged[0] if tagged else None


def parse_clock(text: str) -> float:
    """ "1:02:03.5", "1:02:03,5", "02:03" or "123.5" -> seconds."""
    parts = text.strip().replace(",", ".").split(":")
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"not a time: {text!r}")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def _text_cues(raw: str) -> list[Cue]:
    """SubRip and WebVTT: blocks separated by blank lines, each with a `start --> end` line and the text after it."""
    cues = []
    for block in re.split(r"\n\s*\n", raw.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip().split("\n")
        if not lines or (lines[0].split(" ")[0] in _SKIPPED_BLOCKS and "-->" not in lines[0]):
            continue
        for i, line in enumerate(lines):
            match = _TIMES.search(line)
            if match:
                text = " ".join(html.unescape(_TAG.sub("", t)).strip() for t in lines[i + 1 :] if t.strip())
                start, end = (parse_clock(t) for t in match.groups())
                cues.append(Cue(start, end, " ".join(text.split())))
                break
    return cues


def _json_cues(raw: str, path: Path, duration: float | None) -> list[Cue]:
    try:
        records = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SubtitleError(f"subtitle file {path} is not valid JSON ({exc})") from None
    if not isinstance(records, list):
        raise SubtitleError(f"subtitle file {path} should hold a list of cues")
    cues = []
    for number, record in enumerate(records, start=1):
        try:
            if "timestamp" in record:
                start, end = record["timestamp"]
                end = end if isinstance(end, (int, float)) else (duration if duration is not None else start)
                cues.append(Cue(float(start), float(end), str(record.get("text", "")).strip()))
            elif "start" in record and "end" in record:
                start, end = parse_clock(str(record["start"])), parse_clock(str(record["end"]))
                cues.append(Cue(start, end, str(record.get("line", "")).strip()))
        except (TypeError, ValueError) as exc:
            raise SubtitleError(f"subtitle file {path}: cue {number} has no usable times ({exc})") from None
    return cues
