"""What a failed ingest leaves behind: a registered video marked failed (it resumes on the next
ingest) without the frames stored past its last commit (on a full disk they are the space the
user needs); no trace at all of a video that never committed."""

from __future__ import annotations

import logging
import shutil

from memory.frames import FrameStore
from memory.store import Library
from perception.errors import LongshotError

log = logging.getLogger(__name__)


def clean_up_after(library: Library, video: str, err: Exception, store: FrameStore | None) -> None:
    """`store` is the video's frame store when the run got as far as opening it."""
    try:
        row = library.connect().execute("SELECT frames FROM videos WHERE id = ?", (video,)).fetchone()
    except LongshotError:
        log.exception("could not look up %s after its ingest failed", video)
        return
    if row is None:
        shutil.rmtree(library.video_dir(video), ignore_errors=True)
        return
    recorded = _mark_failed(library, video, err)
    try:
        if store is not None:
            store.truncate(row["frames"])  # the catalogue's count of committed frames
    except LongshotError as cleanup:  # the next ingest truncates again
        log.warning("could not drop the uncommitted frames of %s: %s", video, cleanup)
    if not recorded and not _mark_failed(library, video, err):  # the frames given back may have made room
        log.error("could not record the failure of %s; it shows as ingesting until ingested again", video)


def _mark_failed(library: Library, video: str, err: Exception) -> bool:
    try:
        with library.transaction() as conn:
            library.update_video(conn, video, status="failed", error=str(err) or type(err).__name__)
    except LongshotError:
        return False
    return True
