"""Files derived from model weights, built once and kept on disk, each checked by its sha256 on every read.

A derived file (an ONNX graph written from safetensors weights, say) sits beside a manifest
that records the key of what it was built from and the sha256 of its bytes. A file with no
manifest, or one for other weights, is built again quietly; one whose bytes no longer match
its checksum (a torn write, a flipped bit) is built again with a warning. Files are written
under a temporary name and renamed into place, so two processes building at once, or a kill
mid-write, leave either the old file or a whole new one; the temporary file a killed writer
leaves is removed by the next build check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from perception.processes import process_alive

log = logging.getLogger(__name__)


def cached_build(path: Path, key: str, build: Callable[[], bytes]) -> Path:
    """`path`, checked: kept if it was built for `key` and matches its checksum, otherwise written anew from `build()`.

    The caller opens the path itself, so that no copy of the bytes outlives the check (onnxruntime
    keeps the bytes it was given for as long as its session lives). OSError when writing fails.
    """
    manifest = path.with_name(path.name + ".json")
    for name in (path, manifest):
        _remove_dead_writers_temps(name)
    if _verified(path, manifest, key):
        return path
    data = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, data)
    _write_atomically(manifest, json.dumps({"key": key, "sha256": hashlib.sha256(data).hexdigest()}).encode())
    return path


def _verified(path: Path, manifest: Path, key: str) -> bool:
    try:
        recorded = json.loads(manifest.read_text())
        wanted_key, wanted_sum = recorded["key"], recorded["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False  # never built here, or a manifest torn by a crash
    if wanted_key != key:
        log.info("%s was built from other weights; building it again", path)
        return False
    try:
        with open(path, "rb") as handle:
            actual = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as err:
        log.warning("%s cannot be read (%s); building it again", path, err)
        return False
    if actual != wanted_sum:
        log.warning("%s does not match its checksum (a torn write or a damaged disk); building it again", path)
        return False
    return True


def _remove_dead_writers_temps(path: Path) -> None:
    """Delete the temporary files of `path` whose writer (named by pid) is gone."""
    for temporary in path.parent.glob(f".{path.name}.*.tmp"):
        pid = temporary.name[len(path.name) + 2 :].split(".")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            with contextlib.suppress(OSError):
                temporary.unlink()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
