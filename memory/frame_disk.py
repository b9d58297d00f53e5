"""The on-disk layout of a frame store: JPEG bundles with an offset table, and a times file.

One contiguous read of a bundle serves every frame of a time window that falls in it, the
way "LLM in a flash" reads large chunks rather than many small ones. A bundle is named by
its first frame index and its frame count, and its header repeats both, with each frame's
timestamp, offset, length and CRC, so the frame list can be rebuilt from the files alone.

Layout, little-endian:
    "LSFB", version u16, reserved u16, first u64, count u32, width u32, height u32, data_len u64
    count x (time f64, offset u64, length u32, crc32 u32)      offsets relative to the data
    crc32 u32 of everything above
    data: the JPEGs back to back

Files are written under a temporary name, fsynced and renamed into place, so a crash leaves
either the old file or the new one. A file whose name, size or header checksum disagrees
with its header, or a frame whose CRC disagrees, raises `DamagedBundleError`.
"""

from __future__ import annotations

import errno
import os
import re
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception.errors import DiskFullError, StorageError
from perception.processes import process_alive

MAGIC = b"LSFB"
VERSION = 1
SUFFIX = ".bundle"
_FIXED = struct.Struct("<4sHHQIIIQ")
_ENTRY = np.dtype([("time", "<f8"), ("offset", "<u8"), ("length", "<u4"), ("crc", "<u4")])
_CRC = struct.Struct("<I")
_NAME = re.compile(r"^(\d{10})-(\d{5})\.bundle$")
TIMES_FILE = "times.f64"
_TIME = np.dtype("<f8")
_TEMP = re.compile(r"^\..+\.(\d+)\.\d+\.tmp$")


class DamagedBundleError(StorageError):
    """A bundle file fails its header, length or checksum test; its frames must be rebuilt."""


@dataclass(frozen=True)
class BundleHeader:
    """A parsed bundle header, tied to the file version (inode, size, mtime) it was read from."""

    first: int
    count: int
    width: int
    height: int
    entries: np.ndarray  # structured: time, offset, length, crc
    data_start: int
    identity: tuple[int, int, int]

    @property
    def times(self) -> np.ndarray:
        return self.entries["time"]


def bundle_name(first: int, count: int) -> str:
    return f"{first:010d}-{count:05d}{SUFFIX}"


def parse_bundle_name(name: str) -> tuple[int, int] | None:
    """(first, count) for a bundle file name, None for any other file."""
    match = _NAME.match(name)
    if not match or int(match.group(2)) == 0:
        return None
    return int(match.group(1)), int(match.group(2))


def header_size(count: int) -> int:
    return _FIXED.size + count * _ENTRY.itemsize + _CRC.size


def write_bundle(
    folder: Path, first: int, jpegs: Sequence[bytes], times: Sequence[float] | np.ndarray, width: int, height: int
) -> Path:
    """Write a bundle atomically (temporary name, fsync, rename); the caller fsyncs the folder."""
    count = len(jpegs)
    entries = np.zeros(count, dtype=_ENTRY)
    entries["time"] = np.asarray(times, dtype=np.float64)
    lengths = np.array([len(j) for j in jpegs], dtype=np.uint64)
    entries["length"] = lengths
    entries["offset"] = np.concatenate(([0], np.cumsum(lengths)[:-1])) if count else []
    entries["crc"] = [zlib.crc32(j) for j in jpegs]
    fixed = _FIXED.pack(MAGIC, VERSION, 0, first, count, width, height, int(lengths.sum()))
    head = fixed + entries.tobytes()
    path = folder / bundle_name(first, count)
    write_atomically(path, [head, _CRC.pack(zlib.crc32(head)), *jpegs])
    return path


def read_bundle(
    path: Path, first: int, count: int, known: BundleHeader | None, positions: Sequence[int]
) -> tuple[BundleHeader, list[bytes], int]:
    """The JPEGs at `positions` (0-based within the bundle), read in one contiguous piece.

    `known` is a header cached from an earlier read; it is used only when the file is still
    the same version, so a bundle rewritten in the meantime is parsed afresh. Returns the
    header, the JPEGs in the order of `positions`, and the number of bytes read.
    Raises FileNotFoundError when the file is absent and DamagedBundleError when it is bad.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        identity = (st.st_ino, st.st_size, st.st_mtime_ns)
        nread = 0
        header = known
        if header is None or header.identity != identity:
            header = _parse_header(path, os.pread(fd, header_size(count), 0), first, count, identity)
            nread += header.data_start
        if not positions:
            return header, [], nread
        picked = header.entries[list(positions)]
        lo = int(picked["offset"].min())
        hi = int((picked["offset"] + picked["length"]).max())
        blob = os.pread(fd, hi - lo, header.data_start + lo)
        nread += len(blob)
    finally:
        os.close(fd)
    if len(blob) != hi - lo:
        raise DamagedBundleError(f"{path} ends early: wanted {hi - lo} bytes at {header.data_start + lo}")
    jpegs = []
    for entry in picked:
        start = int(entry["offset"]) - lo
        jpeg = blob[start : start + int(entry["length"])]
        if zlib.crc32(jpeg) != int(entry["crc"]):
            raise DamagedBundleError(f"{path}: a frame fails its checksum")
        jpegs.append(jpeg)
    return header, jpegs, nread


def _parse_header(path: Path, raw: bytes, first: int, count: int, identity: tuple[int, int, int]) -> BundleHeader:
    size = header_size(count)
    if len(raw) != size:
        raise DamagedBundleError(f"{path} is shorter than its header ({len(raw)} of {size} bytes)")
    if _CRC.unpack_from(raw, size - _CRC.size)[0] != zlib.crc32(raw[: size - _CRC.size]):
        raise DamagedBundleError(f"{path}: header checksum mismatch")
    magic, version, _, head_first, head_count, width, height, data_len = _FIXED.unpack_from(raw)
    if magic != MAGIC or version != VERSION:
        raise DamagedBundleError(f"{path} is not a version-{VERSION} frame bundle")
    if (head_first, head_count) != (first, count):
        raise DamagedBundleError(f"{path}: header says frames {head_first}+{head_count}, name says {first}+{count}")
    if identity[1] != size + data_len:
        raise DamagedBundleError(f"{path} is {identity[1]} bytes; its header promises {size + data_len}")
    entries = np.frombuffer(raw, dtype=_ENTRY, count=count, offset=_FIXED.size)
    if np.any(entries["offset"] + entries["length"] > data_len):
        raise DamagedBundleError(f"{path}: a frame lies outside the file")
    return BundleHeader(first, count, width, height, entries, size, identity)


def read_times(folder: Path) -> tuple[np.ndarray, int]:
    """The times file's frame times (a torn last record dropped) and its length in bytes."""
    try:
        raw = (folder / TIMES_FILE).read_bytes()
    except FileNotFoundError:
        return np.empty(0, dtype=np.float64), 0
    whole = len(raw) // _TIME.itemsize * _TIME.itemsize
    return np.frombuffer(raw[:whole], dtype=_TIME).astype(np.float64), len(raw)


def write_times(folder: Path, start: int, times: np.ndarray) -> None:
    """Write `times` from frame `start` on and cut the file there; fsynced."""
    path = folder / TIMES_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, np.asarray(times, dtype=_TIME).tobytes(), start * _TIME.itemsize)
            os.ftruncate(fd, (start + len(times)) * _TIME.itemsize)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        raise storage_error(path, err) from err


def write_atomically(path: Path, chunks: Sequence[bytes]) -> None:
    """Write to a temporary name in the same folder, fsync, and rename over `path`."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temp, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as err:
        temp.unlink(missing_ok=True)
        raise storage_error(path, err) from err


def sync_folder(folder: Path) -> None:
    """fsync a folder so the renames in it survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_orphan_temps(folder: Path) -> None:
    """Delete temporary files left by writers that died before renaming them."""
    for entry in os.scandir(folder):
        match = _TEMP.match(entry.name)
        if match and not process_alive(int(match.group(1))):
            Path(entry.path).unlink(missing_ok=True)


def storage_error(path: Path, err: OSError) -> StorageError:
    if err.errno == errno.ENOSPC:
        return DiskFullError(f"no space left to write {path}; free some disk space and run again")
    return StorageError(f"cannot write {path}: {err.strerror or err}")
