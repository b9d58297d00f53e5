"""Pixel features tell frames apart; the CLIP code path works with random weights and real loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perception.errors import ConfigError, ModelUnavailableError
from perception.image_embed import ClipEmbedder, PixelEmbedder, locate_clip_weights, parse_clip_model
from tests import random_models
from tests.synth import draw_text, index_frame

SMALL_CLIP = random_models.SMALLEST_CLIP


@pytest.fixture
def empty_weight_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the Hugging Face cache and open_clip's URL cache (under $HOME) at empty folders."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def noisy(frame: np.ndarray, amount: int = 12) -> np.ndarray:
    noise = np.random.default_rng(1).integers(-amount, amount + 1, frame.shape)
    return np.clip(frame.astype(int) + noise, 0, 255).astype(np.uint8)


# -- pixel features -------------------------------------------------------------------------


def test_pixel_rows_are_unit_float32_for_frames_of_any_size():
    frames = [index_frame(1), np.zeros((50, 70, 3), np.uint8), np.full((480, 640, 3), 255, np.uint8)]
    rows = PixelEmbedder().embed_images(frames)
    assert rows.shape == (3, PixelEmbedder.dim) and rows.dtype == np.float32
    assert np.all(np.isfinite(rows))
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert PixelEmbedder().embed_images(np.stack([index_frame(2)] * 4)).shape == (4, PixelEmbedder.dim)
    assert PixelEmbedder().embed_images(index_frame(2)).shape == (1, PixelEmbedder.dim)
    assert PixelEmbedder().embed_images([]).shape == (0, PixelEmbedder.dim)


def test_the_same_scene_scores_higher_than_a_different_one():
    scene = draw_text(index_frame(3), "KITCHEN")
    other = draw_text(index_frame(90), "GARDEN")
    rows = PixelEmbedder().embed_images([scene, scene.copy(), noisy(scene), other])
    similarity = rows @ rows[0]
    assert similarity[1] == pytest.approx(1.0, abs=1e-5)
    assert similarity[2] > 0.9 > similarity[3]


@pytest.mark.integration
def test_real_photos_are_told_apart(media: Path):
    photos = [np.asarray(Image.open(media / "images/opencv" / name).convert("RGB")) for name in ("baboon.jpg", "fruits.jpg")]
    rows = PixelEmbedder().embed_images([photos[0], noisy(photos[0]), photos[1]])
    assert rows[1] @ rows[0] > 0.95 > 0.5 > rows[2] @ rows[0]


def test_black_and_white_frames_are_not_alike():
    black, white = PixelEmbedder().embed_images([np.zeros((64, 64, 3), np.uint8), np.full((64, 64, 3), 255, np.uint8)])
    assert black @ white < 0.1


def test_pixel_features_cannot_embed_text():
    with pytest.raises(ModelUnavailableError, match="cannot embed text") as caught:
        PixelEmbedder().embed_text(["a dog"])
    assert caught.value.role == "image_embedding" and "models.image_embedding" in caught.value.hint


# -- CLIP ----------------------------------------------------------------------------------


def test_clip_specs_name_a_tag_or_a_checkpoint():
    assert parse_clip_model("ViT-B-32/laion2b_s34b_b79k") == ("ViT-B-32", "laion2b_s34b_b79k", None)
    assert parse_clip_model("ViT-B-32@/w/clip.pt") == ("ViT-B-32", None, Path("/w/clip.pt"))
    for bad in ("ViT-B-32", "ViT-B-32/", "@/w/clip.pt", "ViT-B-32@"):
        with pytest.raises(ConfigError, match="models.image_embedding"):
            parse_clip_model(bad)


@pytest.mark.slow  # imports open_clip (torch)
def test_absent_weights_are_unavailable_without_downloading(empty_weight_caches: Path):
    with pytest.raises(ModelUnavailableError, match="not on this machine") as caught:
        locate_clip_weights("ViT-B-32/laion2b_s34b_b79k")
    assert "models.image_embedding" in caught.value.hint
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        locate_clip_weights(f"ViT-B-32@{empty_weight_caches / 'clip.pt'}")
    with pytest.raises(ModelUnavailableError, match="no pretrained tag"):
        locate_clip_weights("ViT-B-32/no_such_tag")
    with pytest.raises(ModelUnavailableError, match="no model architecture"):
        locate_clip_weights("ViT-Nope/laion2b_s34b_b79k")


@pytest.mark.slow
def test_a_cached_hub_checkpoint_is_found(empty_weight_caches: Path):
    snapshot = empty_weight_caches / "hf/models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K/snapshots/abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_model.safetensors").write_bytes(b"x")
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs/main").write_text("abc123")
    found = locate_clip_weights("ViT-B-32/laion2b_s34b_b79k")
    assert found.checkpoint == snapshot / "open_clip_model.safetensors"
    assert found.name == "open_clip:ViT-B-32/laion2b_s34b_b79k"


@pytest.fixture(scope="module")
def random_clip() -> ClipEmbedder:
    return random_models.random_clip(batch_size=2)


@pytest.mark.slow
def test_random_clip_embeds_images_and_texts_as_unit_rows(random_clip: ClipEmbedder):
    frames = np.stack([index_frame(i) for i in range(5)])  # more than one batch
    images = random_clip.embed_images(frames)
    texts = random_clip.embed_text(["a dog", "a cat", "a red car"])
    assert random_clip.supports_text
    assert images.shape == (5, random_clip.dim) and texts.shape == (3, random_clip.dim)
    assert images.dtype == texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.concatenate([images, texts]), axis=1), 1.0, atol=1e-5)
    assert random_clip.embed_text([]).shape == (0, random_clip.dim)
    assert random_clip.embed_images([np.zeros((30, 500), np.uint8)]).shape == (1, random_clip.dim)  # grey, odd shape


@pytest.mark.slow
def test_a_checkpoint_file_loads_into_the_named_architecture(random_clip: ClipEmbedder, tmp_path: Path):
    import torch

    checkpoint = tmp_path / "clip.pt"
    torch.save({k: v.half() for k, v in random_clip._network.state_dict().items()}, checkpoint)
    weights = locate_clip_weights(f"{SMALL_CLIP}@{checkpoint}")
    assert weights.source == str(checkpoint)
    loaded = ClipEmbedder(weights)
    frames = [index_frame(7), index_frame(8)]
    np.testing.assert_allclose(loaded.embed_images(frames), random_clip.embed_images(frames), atol=2e-2)
    np.testing.assert_allclose(loaded.embed_text(["a dog"]), random_clip.embed_text(["a dog"]), atol=2e-2)


@pytest.mark.slow
def test_a_corrupt_checkpoint_is_unavailable_not_a_crash(tmp_path: Path):
    checkpoint = tmp_path / "clip.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailableError, match="could not load"):
        ClipEmbedder(locate_clip_weights(f"{SMALL_CLIP}@{checkpoint}"))
