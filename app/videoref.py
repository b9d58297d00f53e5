"""What names a video in the API: what the API itself hands out (an `IngestResult`, a `VideoRecord`),
an id or unique id prefix, a file name, or the path of the file that was ingested.

`ls.ask(ls.ingest(path), ...)` and `ls.ask(ls.videos()[0], ...)` work; anything else that cannot
name a video is a `VideoReferenceError` before it reaches the catalogue.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from memory.store import Library, VideoRecord, content_hash
from perception.errors import LongshotError, VideoNotFoundError, VideoReferenceError

if TYPE_CHECKING:
    from memory.build import IngestResult

VideoRef: TypeAlias = "str | Path | VideoRecord | IngestResult"


def resolve_video(library: Library, video: VideoRef) -> VideoRecord:
    """The catalogue's current record of the video `video` names (VideoNotFoundError when it has none)."""
    if isinstance(video, VideoRecord):
        return library.video(video.id)  # fresh: the caller's copy may predate later commits
    if isinstance(video, Path):
        return _by_file(library, video) or library.video(video.name)
    if isinstance(video, str):
        try:
            return library.video(video)
        except VideoNotFoundError:
            found = _by_file(library, Path(video)) if ("/" in video or "\\" in video) else None
            if found is None:
                raise
            return found
    from memory.build import IngestResult  # only an ingest hands one out, so asking by name never imports the pipeline

    if isinstance(video, IngestResult):
        return library.video(video.video.id)
    raise VideoReferenceError(
        f"a video is named by its id, a file name, a path, a VideoRecord or an IngestResult, not {type(video).__name__}"
    )


def _by_file(library: Library, path: Path) -> VideoRecord | None:
    """The video whose content this file holds, when the file is there and the library has it."""
    try:
        if not path.expanduser().is_file():
            return None
        return library.video(content_hash(path.expanduser()))
    except (OSError, LongshotError):
        return None


def when_added(moment: float | datetime | date | None, upper: bool) -> float | None:
    """A date filter as Unix time: a date means its whole day (from its start, or to its end when `upper`),
    a naive datetime is local time."""
    if moment is None or isinstance(moment, (int, float)):
        return None if moment is None else float(moment)
    if isinstance(moment, datetime):
        return moment.timestamp()
    if isinstance(moment, date):
        return datetime.combine(moment, time.max if upper else time.min).timestamp()
    raise VideoReferenceError(f"a date filter is a Unix time, a datetime or a date, not {type(moment).__name__}")
