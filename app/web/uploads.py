"""Uploads from the web: checked for size and kind before anything is written to the library.

A browser sends a file name and bytes, and both are untrusted. The name is reduced to a
plain base name (no folders, no leading dots, no control characters), the size is checked
against `web.max_upload_mb`, and the bytes must probe as a video; only then is the file
copied into `<home>/uploads/<content hash>/<name>`, which is the one folder the web app
serves files from.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from memory.store import content_hash
from perception.errors import MediaError, StorageError
from perception.video import VideoInfo, probe

UPLOADS = "uploads"
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".ogv", ".3gp"}
)
MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w.\- ()+,]+")


class UploadRejectedError(MediaError):
    """An upload was refused before it reached the library (too large, wrong kind, bad name)."""


def uploads_dir(home: Path) -> Path:
    """The library folder that holds uploaded videos, and the only one the app serves."""
    return Path(home).expanduser().resolve() / UPLOADS


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder: the base name only, in plain characters.

    "../../etc/passwd.mp4" becomes "passwd.mp4", "..\\x.mkv" becomes "x.mkv" and
    ".bashrc.mp4" becomes "bashrc.mp4"; a name with nothing left becomes "video".
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, suffix = os.path.splitext(base)
    stem = stem[: MAX_NAME - len(suffix)].strip(" .")
    return f"{stem}{suffix.lower()}" if stem else f"video{suffix.lower()}"


def check_upload(source: Path, name: str, max_mb: float) -> VideoInfo:
    """Refuse an upload that is too large, has no video suffix, or is not a video; else its probe."""
    try:
        size = source.stat().st_size
    except OSError as err:
        raise UploadRejectedError(f"the upload of {name} did not arrive ({err.strerror or err}); try again") from err
    if size > max_mb * 2**20:
        raise UploadRejectedError(
            f"{name} is {size / 2**20:.1f} MB; this server accepts videos up to {max_mb:g} MB "
            "(set web.max_upload_mb to change it)"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise UploadRejectedError(f"{name} does not look like a video file; expected one of {', '.join(sorted(VIDEO_SUFFIXES))}")
    try:
        return probe(source)
    except MediaError as err:
        raise UploadRejectedError(f"{name} was rejected: it is not a video this app can read ({type(err).__name__})") from err


def accept_upload(home: Path, source: str | Path, name: str | None, max_mb: float) -> Path:
    """Check an uploaded file and copy it into the library; the library's copy is returned.

    The same bytes uploaded twice land on the same path, so nothing is stored twice.
    """
    source = Path(source)
    clean = safe_name(name or source.name)
    check_upload(source, clean, max_mb)
    folder = uploads_dir(home) / content_hash(source)
    target = folder / clean
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        return target
    staging: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=folder, prefix=".upload.", suffix=".part")
        os.close(fd)
        shutil.copyfile(source, staging)
        os.replace(staging, target)
    except OSError as err:
        if staging:
            Path(staging).unlink(missing_ok=True)
        raise StorageError(f"cannot store the upload {clean} in {folder}: {err.strerror or err}") from err
    return target


def in_uploads(home: Path, path: str | Path) -> bool:
    """Whether a file lies inside the uploads folder (and so may be served to the browser)."""
    try:
        Path(path).resolve().relative_to(uploads_dir(home))
    except (OSError, ValueError):
        return False
    return True


def discard_upload(home: Path, path: str | Path) -> None:
    """Delete the library's copy of an uploaded video (its hash folder); a file elsewhere is left alone."""
    if in_uploads(home, path):
        folder = Path(path).resolve().parent
        if folder.parent == uploads_dir(home):
            shutil.rmtree(folder, ignore_errors=True)
