"""Derived model files: the temporary file a writer killed mid-write leaves is removed by the next
build check, while a live writer's is left alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from perception.model_cache import cached_build


def test_a_dead_writers_temp_file_goes_and_a_live_ones_stays(tmp_path: Path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    path = tmp_path / "models" / "graph.onnx"
    path.parent.mkdir()
    litter = [path.parent / f".graph.onnx.{dead.pid}.abc.tmp", path.parent / f".graph.onnx.json.{dead.pid}.def.tmp"]
    live = path.parent / f".graph.onnx.{os.getpid()}.ghi.tmp"
    for temporary in [*litter, live]:
        temporary.write_bytes(b"half a graph")

    assert cached_build(path, "weights-1", lambda: b"a whole graph").read_bytes() == b"a whole graph"

    assert not any(t.exists() for t in litter) and live.exists()
