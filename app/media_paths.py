"""The videos a command line names: files, folders (searched recursively) and glob patterns.

A file is a video when FFmpeg opens it as one, whatever its name says: every file found in a
folder or by a pattern is probed, and those that hold no video (text, images, audio) are
counted and passed over. A file named on its own must be a video; it, a broken video found
anywhere, and a name that matches nothing are failures, reported with the reason.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from perception.errors import MediaError, NotAVideoError, NoVideoStreamError
from perception.video import VideoInfo, probe

PATTERN_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class Found:
    """The videos to ingest (with what probing said of them), the names that failed and why, and
    how many files found in folders or by patterns were not videos."""

    videos: tuple[tuple[Path, VideoInfo], ...]
    failures: tuple[tuple[Path, str], ...]
    not_videos: int

    @property
    def seconds(self) -> float:
        return sum(info.duration for _, info in self.videos)


def find_videos(names: Sequence[str | Path]) -> Found:
    """Every video `names` stand for, each once, in the order given (a folder's files sorted)."""
    videos: dict[Path, tuple[Path, VideoInfo]] = {}
    failures: list[tuple[Path, str]] = []
    not_videos = 0
    for name in names:
        for path, named in _candidates(Path(name), failures):
            key = path.resolve()
            if key in videos:
                continue
            try:
                videos[key] = (path, probe(path))
            except (NotAVideoError, NoVideoStreamError) as err:
                if named:
                    failures.append((path, str(err)))
                else:
                    not_videos += 1
            except MediaError as err:  # a video that cannot be read: worth saying, wherever it was found
                failures.append((path, str(err)))
    return Found(tuple(videos.values()), tuple(failures), not_videos)


def _candidates(name: Path, failures: list[tuple[Path, str]]) -> Iterator[tuple[Path, bool]]:
    """(path, whether it was named on its own) for each file `name` stands for; failures noted."""
    if name.is_file():
        yield name, True
    elif name.is_dir():
        yield from ((path, False) for path in _walk(name))
    elif PATTERN_CHARACTERS & set(str(name)):
        matches = sorted(glob.glob(str(name), recursive=True))
        if not matches:
            failures.append((name, "the pattern matches no file"))
        for match in map(Path, matches):
            yield from ((match, False),) if match.is_file() else ((path, False) for path in _walk(match))
    else:
        failures.append((name, "no such file or folder"))


def _walk(folder: Path) -> Iterator[Path]:
    """Files under `folder`, sorted, leaving out hidden files and folders (names starting with '.')."""
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        yield from (Path(root) / f for f in sorted(files) if not f.startswith("."))
