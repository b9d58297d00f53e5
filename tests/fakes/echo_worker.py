"""A worker for executor tests: it echoes, says which process it is, or dies on request."""

from __future__ import annotations

import os
import time
from typing import Any


class EchoWorker:
    """`run("echo", x)` returns x and this process's id; `run("die")` ends the process at once;
    `run("sleep", s)` waits s seconds first."""

    def __init__(self, tag: str):
        self.tag = tag

    def run(self, stage: str, *args: Any) -> Any:
        if stage == "die":
            os._exit(9)
        if stage == "sleep":
            time.sleep(args[0])
            return (self.tag, "slept", os.getpid())
        return (self.tag, args[0], os.getpid())
