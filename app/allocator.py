"""glibc's allocator set up for ingest, which it can only be before the interpreter starts.

Whisper (CTranslate2, through oneDNN) and the OCR models allocate and free buffers of 2 to 110 MB
on every call. glibc maps each afresh and unmaps it on free, so every call faults its pages in
again, 4 KiB at a time: the 10-min lecture of `bench ingest` took 8.2 million page faults and
15 of its 46 CPU seconds in the kernel. With buffers up to 32 MiB (the most glibc allows) kept on
the heap, the heap trimmed only past 256 MiB free, and transparent huge pages asked for where
the kernel offers them on request (`madvise`, the Debian default), the same ingest took 1.5
million faults, 34 CPU s and 18 s instead of 25, with the same memory written; the hour-long needle
video, 0.9 against 2.4 million faults and 4-20% less CPU, its peak RSS within 60 MB of what it was.

These are glibc tunables, read once when a process starts, so `retune` re-runs the command with
them in its environment (children it starts, such as `bench` runs, inherit them). A user's own
GLIBC_TUNABLES entries are kept and win (glibc.malloc.hugetlb=0, say, to keep 4 KiB pages).
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, Sequence

TUNABLES = {
    "glibc.malloc.hugetlb": "1",  # madvise(MADV_HUGEPAGE) on what malloc maps: 2 MiB faults, not 4 KiB
    "glibc.malloc.mmap_threshold": str(32 << 20),  # heap, not a fresh mapping, for buffers up to 32 MiB
    "glibc.malloc.trim_threshold": str(256 << 20),  # and the heap keeps freed memory up to 256 MiB
}
# Commands that ingest, or serve what may: the light ones (ask, videos, doctor) start faster as they are.
HEAVY_COMMANDS = frozenset({"ingest", "demo", "serve", "mcp", "eval", "bench"})


def tuned_environment(environ: Mapping[str, str]) -> dict[str, str] | None:
    """`environ` with TUNABLES added to GLIBC_TUNABLES, or None when every one is set already (by
    an earlier run of `retune`, or by the user, whose value stays)."""
    present = [entry for entry in environ.get("GLIBC_TUNABLES", "").split(":") if entry]
    named = {entry.partition("=")[0] for entry in present}
    missing = [f"{name}={value}" for name, value in TUNABLES.items() if name not in named]
    if not missing:
        return None
    return {**environ, "GLIBC_TUNABLES": ":".join([*present, *missing])}


def command_of(argv: Sequence[str]) -> str | None:
    """The command a `longshot` argument list runs (its first word that is not an option)."""
    return next((arg for arg in argv[1:] if not arg.startswith("-")), None)


def retune() -> None:
    """Re-run this process (the interpreter as it was started, `sys.orig_argv`) with TUNABLES, when the
    command is a HEAVY_COMMANDS one, on Linux with glibc, and they are not set yet; else return."""
    if command_of(sys.argv) not in HEAVY_COMMANDS or sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return
    environment = tuned_environment(os.environ)
    if environment is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], environment)
