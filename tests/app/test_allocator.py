"""app.allocator: the commands that ingest re-run once with glibc's malloc tunables, which then
change how many pages a large buffer faults in."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.allocator import HEAVY_COMMANDS, TUNABLES, command_of, tuned_environment

GLIBC_LINUX = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"
THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")
# glibc.malloc.hugetlb came in glibc 2.35; an older glibc ignores it
HUGETLB_TUNABLE = GLIBC_LINUX and tuple(int(p) for p in platform.libc_ver()[1].split(".")[:2]) >= (2, 35)


def _entries(value: str) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in value.split(":"))


def test_every_tunable_is_added_to_an_environment_without_them():
    env = tuned_environment({"PATH": "/bin"})
    assert env is not None and env["PATH"] == "/bin"
    assert _entries(env["GLIBC_TUNABLES"]) == TUNABLES


def test_a_users_own_tunables_are_kept_and_win():
    mine = "glibc.malloc.check=0:glibc.malloc.hugetlb=0"
    env = tuned_environment({"GLIBC_TUNABLES": mine})
    assert env is not None
    entries = _entries(env["GLIBC_TUNABLES"])
    assert entries["glibc.malloc.check"] == "0" and entries["glibc.malloc.hugetlb"] == "0"
    assert {k: entries[k] for k in TUNABLES if k != "glibc.malloc.hugetlb"} == {
        k: v for k, v in TUNABLES.items() if k != "glibc.malloc.hugetlb"
    }


def test_a_tuned_environment_is_not_tuned_again():
    env = tuned_environment({})
    assert env is not None and tuned_environment(env) is None


def test_the_command_is_the_first_word_that_is_not_an_option():
    assert command_of(["longshot", "--verbose", "ingest", "a.mp4"]) == "ingest"
    assert command_of(["longshot", "-v"]) is None
    assert {"ingest", "serve", "bench"} <= HEAVY_COMMANDS and "ask" not in HEAVY_COMMANDS


def _run_retuned(command: str) -> str:
    """Output of a child that sets argv to `longshot COMMAND`, calls retune, then prints its GLIBC_TUNABLES."""
    code = textwrap.dedent(
        f"""
        import os, sys
        sys.argv = ["longshot", "{command}"]
        from app.allocator import retune
        retune()
        print(os.environ.get("GLIBC_TUNABLES"))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


@pytest.mark.skipif(not GLIBC_LINUX, reason="glibc tunables exist only on Linux with glibc")
def test_a_heavy_command_runs_once_more_with_the_tunables_and_a_light_one_does_not():
    heavy = _run_retuned("ingest").splitlines()
    assert len(heavy) == 1  # the first run was replaced, not continued
    assert _entries(heavy[0]) == TUNABLES
    assert _run_retuned("ask").strip() == "None"


def test_the_longshot_command_retunes_before_it_runs(monkeypatch):
    import evals.cli

    calls = []

    def execve(path, args, env):
        calls.append((path, args, env))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execve", execve)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.setattr(sys, "argv", ["longshot", "ingest", "--help"])
    with pytest.raises(SystemExit):
        evals.cli.main()
    if not GLIBC_LINUX:
        assert calls == []
        return
    [(path, args, env)] = calls
    assert path == sys.executable and args == [sys.executable, *sys.orig_argv[1:]]
    assert _entries(env["GLIBC_TUNABLES"]) == TUNABLES


def _faults_touching(mib: int, env: dict[str, str]) -> int:
    """Page faults a child takes to malloc and fill a buffer of `mib` MiB."""
    code = textwrap.dedent(
        f"""
        import ctypes, resource
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        buffer = libc.malloc({mib} << 20)
        ctypes.memset(buffer, 1, {mib} << 20)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    return int(done.stdout)


@pytest.mark.skipif(
    not HUGETLB_TUNABLE or not THP.is_file() or "[never]" in THP.read_text(),
    reason="needs glibc 2.35 or later and transparent huge pages",
)
def test_with_the_tunables_a_large_buffer_faults_in_huge_pages():
    plain = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    tuned = tuned_environment(plain)
    assert tuned is not None
    small_pages, huge_pages = _faults_touching(64, plain), _faults_touching(64, tuned)
    assert small_pages >= (64 << 20) // os.sysconf("SC_PAGE_SIZE") // 2  # about one fault per 4 KiB page
    assert huge_pages < small_pages / 10
