"""Pixel features tell frames apart; the CLIP code path works with random weights and real loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perception import image_embed
from perception.errors import ConfigError, ModelUnavailableError
from perception.image_embed import ClipEmbedder, PixelEmbedder, locate_clip_weights, parse_clip_model
from tests import random_models
from tests.synth import draw_text, index_frame

SMALL_CLIP = random_models.SMALLEST_CLIP


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


def test_absent_weights_are_unavailable_without_importing_open_clip(no_model_weights: Path, monkeypatch: pytest.MonkeyPatch):
    imported: list[str] = []
    monkeypatch.setattr(image_embed, "require", lambda module, *_: imported.append(module))
    with pytest.raises(ModelUnavailableError, match="not on this machine") as caught:
        locate_clip_weights("ViT-B-32/laion2b_s34b_b79k")
    assert "models.image_embedding" in caught.value.hint and str(no_model_weights / "hf") in caught.value.reason
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        locate_clip_weights(f"ViT-B-32@{no_model_weights / 'clip.pt'}")
    with pytest.raises(ModelUnavailableError, match="no model architecture"):
        locate_clip_weights("ViT-Nope/laion2b_s34b_b79k")
    assert imported == []


def cached_hub_file(hf: Path, repo: str, filename: str) -> Path:
    """A file in the Hugging Face cache layout, as a download leaves it."""
    snapshot = hf / f"models--{repo.replace('/', '--')}" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / filename).write_bytes(b"x")
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs/main").write_text("abc123")
    return snapshot / filename


@pytest.mark.slow  # a checkpoint that might be the one: open_clip (torch) is imported to tell
def test_another_models_checkpoint_is_not_taken_for_this_one(no_model_weights: Path):
    cached_hub_file(no_model_weights / "hf", "laion/CLIP-ViT-L-14-laion2B-s32B-b82K", "open_clip_model.safetensors")
    with pytest.raises(ModelUnavailableError, match=r"\(laion/CLIP-ViT-B-32-laion2B-s34B-b79K/\) are not on this machine"):
        locate_clip_weights("ViT-B-32/laion2b_s34b_b79k")
    with pytest.raises(ModelUnavailableError, match="no pretrained tag"):
        locate_clip_weights("ViT-B-32/no_such_tag")


@pytest.mark.slow
def test_a_cached_hub_checkpoint_is_found(no_model_weights: Path):
    checkpoint = cached_hub_file(no_model_weights / "hf", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "open_clip_model.safetensors")
    found = locate_clip_weights("ViT-B-32/laion2b_s34b_b79k")
    assert found.checkpoint == checkpoint
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
