"""The VLM named by `models.vlm`, built from its spec."""

from __future__ import annotations

import os
import re

from perception.config import VLMConfig
from perception.errors import ConfigError, ModelUnavailableError
from perception.vlm.client import OPENAI_BASE_URL, OpenAIChat

_SPEC = re.compile(r"^openai:(?P<model>[^@]+?|.+?(?=@https?://))(?:@(?P<url>https?://\S+))?$")


def vlm_from_spec(spec: str, config: VLMConfig, threads: int = 1) -> OpenAIChat | None:
    """The client named by `models.vlm`: `none`, `openai:<model>@<base-url>`, `openai:<model>`, or
    `llamacpp:<path.gguf>[?mmproj=<path>]` (llama.cpp started here with `threads` CPU threads).

    The model name may hold colons (`openai:llava:13b@http://localhost:11434/v1`); the
    base URL starts at the first `@http://` or `@https://`. Without a URL the model is
    OpenAI's own, which needs a key.
    """
    text = spec.strip() if isinstance(spec, str) else ""
    if text.lower() == "none":
        return None
    if text.startswith("llamacpp:"):
        from perception.vlm.llamacpp import LlamaCppChat  # imports llama.cpp only where it is named

        return LlamaCppChat(text.removeprefix("llamacpp:"), config, threads)
    match = _SPEC.match(text)
    if not match or not match["model"].strip():
        raise ConfigError(
            f"configuration key 'models.vlm' must be 'none', 'openai:<model>', "
            f"'openai:<model>@<base-url>' with an http(s) URL, or 'llamacpp:<path.gguf>', got {spec!r}"
        )
    model, url = match["model"].strip(), match["url"] or OPENAI_BASE_URL
    if url == OPENAI_BASE_URL and not (config.api_key or os.environ.get("OPENAI_API_KEY")):
        raise ModelUnavailableError(
            "vlm", f"no API key for {OPENAI_BASE_URL}", "set OPENAI_API_KEY or vlm.api_key, or name a local server"
        )
    return OpenAIChat(model, url, config)
