"""Image embeddings: CLIP where its weights are on disk, pixel features where they are not.

`ClipEmbedder` (open_clip) puts images and texts in one space, so text can search frames.
Its weights are looked up in the Hugging Face cache, open_clip's URL cache or a named
checkpoint file, without downloading, and without importing open_clip or torch when no
checkpoint is there (`locate_clip_weights`). `PixelEmbedder` needs no
weights: a grey thumbnail plus a colour histogram is enough for image-to-image
similarity, scene changes and novelty, and cheap enough for every sampled frame.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from perception.errors import ConfigError, ModelUnavailableError
from perception.requires import installed, require
from perception.rgb import as_rgb

ROLE = "image_embedding"
INSTALL_HINT = (
    "install the weights (e.g. put the open_clip checkpoint in the Hugging Face cache) or set "
    "models.image_embedding to 'open_clip:<model>@<checkpoint path>'"
)


@dataclass(frozen=True)
class ClipWeights:
    """An open_clip architecture and the checkpoint file that fills it."""

    model: str
    pretrained: str | None  # the open_clip tag the checkpoint belongs to, None for a file named by path
    checkpoint: Path
    source: str

    @property
    def name(self) -> str:
        return f"open_clip:{self.model}/{self.pretrained}" if self.pretrained else f"open_clip:{self.model}@{self.checkpoint}"


def parse_clip_model(model: str) -> tuple[str, str | None, Path | None]:
    """Split `<model>/<pretrained tag>` or `<model>@<checkpoint path>`; ConfigError for anything else."""
    name, at, path = model.partition("@")
    if at:
        if name and path:
            return name, None, Path(path).expanduser()
    else:
        name, slash, tag = model.partition("/")
        if name and slash and tag:
            return name, tag, None
    raise ConfigError(
        f"configuration key 'models.image_embedding' has open_clip model {model!r}: "
        "expected '<model>/<pretrained tag>' (ViT-B-32/laion2b_s34b_b79k) or '<model>@<checkpoint path>'"
    )


def locate_clip_weights(model: str) -> ClipWeights:
    """The checkpoint file for `model` if it is already on disk; ModelUnavailableError if not.

    open_clip (and so torch) is imported only when a checkpoint might be here: its table of
    pretrained tags is needed to tell which file is the one, but not to see that there is none.
    """
    name, tag, checkpoint = parse_clip_model(model)
    package = installed("open_clip", ROLE, INSTALL_HINT)
    if not (package / "model_configs" / f"{name}.json").is_file():
        raise ModelUnavailableError(ROLE, f"open_clip has no model architecture {name!r}", INSTALL_HINT)
    if checkpoint is not None:
        if not checkpoint.is_file():
            raise ModelUnavailableError(ROLE, f"checkpoint {checkpoint} does not exist", INSTALL_HINT)
        return ClipWeights(name, None, checkpoint, source=str(checkpoint))
    if not _may_hold_checkpoint(name):
        raise ModelUnavailableError(
            ROLE,
            f"the weights of {name}/{tag} are not on this machine (no open_clip checkpoint in {_hub_cache()} or {_url_cache()})",
            INSTALL_HINT,
        )
    open_clip = require("open_clip", ROLE, INSTALL_HINT)
    config = open_clip.get_pretrained_cfg(name, tag)
    if not config:
        raise ModelUnavailableError(ROLE, f"open_clip has no pretrained tag {tag!r} for {name}", INSTALL_HINT)
    found = _cached_checkpoint(config)
    if found is None:
        where = config.get("hf_hub") or config.get("url")
        raise ModelUnavailableError(ROLE, f"the weights of {name}/{tag} ({where}) are not on this machine", INSTALL_HINT)
    return ClipWeights(name, tag, found, source=str(found))


class ClipEmbedder:
    """open_clip image and text towers; rows are L2-normalised float32."""

    supports_text = True

    def __init__(self, weights: ClipWeights, device: str = "cpu", batch_size: int = 32):
        open_clip = require("open_clip", ROLE, INSTALL_HINT)
        config = open_clip.get_pretrained_cfg(weights.model, weights.pretrained) if weights.pretrained else {}
        try:
            network, _, preprocess = open_clip.create_model_and_transforms(
                weights.model,
                pretrained=str(weights.checkpoint),
                device=device,
                force_quick_gelu=bool(config.get("quick_gelu", False)),
                image_mean=config.get("mean"),
                image_std=config.get("std"),
                image_interpolation=config.get("interpolation"),
                image_resize_mode=config.get("resize_mode"),
            )
            tokenizer = open_clip.get_tokenizer(weights.model)
        except Exception as err:  # torch and open_clip raise many types for a bad checkpoint
            raise ModelUnavailableError(ROLE, f"could not load {weights.name}: {err}", INSTALL_HINT) from err
        self._setup(network, preprocess, tokenizer, weights.name, device, batch_size)

    @classmethod
    def from_network(cls, network, preprocess, tokenizer, name: str, device: str = "cpu", batch_size: int = 32) -> ClipEmbedder:
        """An embedder around an open_clip model already built (its image transform and tokenizer too)."""
        embedder = cls.__new__(cls)
        embedder._setup(network, preprocess, tokenizer, name, device, batch_size)
        return embedder

    def _setup(self, network, preprocess, tokenizer, name: str, device: str, batch_size: int) -> None:
        self._network = network.eval()
        self._preprocess = preprocess
        self._tokenizer = tokenizer
        self._device = device
        self.name = name
        self.batch_size = batch_size
        self.dim = int(network.visual.output_dim)

    def embed_images(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        import torch

        images = _frame_list(frames)
        rows = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(images), self.batch_size):
            batch = torch.stack([self._preprocess(Image.fromarray(as_rgb(f))) for f in images[start : start + self.batch_size]])
            with torch.inference_mode():
                rows.append(_unit_rows(self._network.encode_image(batch.to(self._device)).float().cpu().numpy()))
        return np.concatenate(rows)

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = [texts] if isinstance(texts, str) else list(texts)
        rows = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(texts), self.batch_size):
            tokens = self._tokenizer(texts[start : start + self.batch_size])
            with torch.inference_mode():
                rows.append(_unit_rows(self._network.encode_text(tokens.to(self._device)).float().cpu().numpy()))
        return np.concatenate(rows)


class PixelEmbedder:
    """A 16x16 grey thumbnail (structure) and an HSV histogram (colour), one unit vector per frame.

    The thumbnail is mean-centred so that layout, not brightness, drives its half; the
    histogram half is the square root of bin proportions (a Hellinger embedding), so
    brightness and colour shifts show there. Each half has unit length before they are
    joined, so neither drowns the other.
    """

    name = "pixel:thumb16+hsv"
    supports_text = False
    THUMB = 16
    BINS = (8, 4, 4)  # hue, saturation, value
    dim = THUMB * THUMB + BINS[0] * BINS[1] * BINS[2]

    def embed_images(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        images = _frame_list(frames)
        rows = np.zeros((len(images), self.dim), dtype=np.float32)
        for row, frame in enumerate(images):
            small = Image.fromarray(as_rgb(frame)).resize((64, 64), Image.Resampling.BOX)
            thumb = np.asarray(small.convert("L").resize((self.THUMB, self.THUMB), Image.Resampling.BOX), dtype=np.float32)
            rows[row, : self.THUMB**2] = _unit_rows((thumb - thumb.mean()).reshape(1, -1))[0]
            rows[row, self.THUMB**2 :] = self._colour_histogram(np.asarray(small.convert("HSV")))
        return _unit_rows(rows)

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        raise ModelUnavailableError(ROLE, "pixel features cannot embed text", INSTALL_HINT)

    def _colour_histogram(self, hsv: np.ndarray) -> np.ndarray:
        hue, sat, val = (_HSV_BIN_PARTS[i][hsv[:, :, i]] for i in range(3))
        counts = np.bincount((hue + sat + val).ravel(), minlength=self.BINS[0] * self.BINS[1] * self.BINS[2])
        return np.sqrt(counts / counts.sum()).astype(np.float32)


def _hsv_bin_parts(bins: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """Per channel, each 8-bit value's bin times that channel's stride in the histogram: a pixel's bin
    is the sum of three lookups, half the time of the arithmetic on every pixel."""
    strides = (bins[1] * bins[2], bins[2], 1)
    return tuple((np.arange(256) * count // 256 * stride).astype(np.intp) for count, stride in zip(bins, strides))


_HSV_BIN_PARTS = _hsv_bin_parts(PixelEmbedder.BINS)


def _frame_list(frames: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        return [frames]
    return list(frames)


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


def _may_hold_checkpoint(architecture: str) -> bool:
    """Whether an open_clip checkpoint could be cached here: a file named the way open_clip names
    them on the hub, a hub folder named after the architecture, or anything in the URL cache."""
    hub = _hub_cache()
    if any(hub.glob("models--*/snapshots/*/open_clip_*")):
        return True
    if any(architecture.lower() in folder.name.lower() for folder in hub.glob("models--*")):
        return True
    return _url_cache().is_dir() and any(_url_cache().iterdir())


def _hub_cache() -> Path:
    from huggingface_hub import constants  # the constants module alone: the hub client stays unimported

    return Path(constants.HF_HUB_CACHE)


def _url_cache() -> Path:
    return Path("~/.cache/clip").expanduser()


def _cached_checkpoint(config: dict) -> Path | None:
    """Where open_clip would find this pretrained checkpoint without downloading, or None."""
    from huggingface_hub import try_to_load_from_cache

    hub = config.get("hf_hub", "")
    if hub:
        repo_id, filename = os.path.split(hub)
        filename = filename or "open_clip_pytorch_model.bin"
        safe = {"open_clip_pytorch_model.bin": "open_clip_model.safetensors"}.get(filename)
        for candidate in filter(None, (safe, filename)):
            found = try_to_load_from_cache(repo_id, candidate)
            if isinstance(found, str):
                return Path(found)
    url = config.get("url", "")
    if url:
        path = _url_cache() / os.path.basename(url)
        if path.is_file():
            return path
    return None
