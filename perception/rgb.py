"""One check for every image a model role or the sketchpad receives: HxWx3 uint8 RGB, or a clear ImageError.

Frames come from decoders, the frame store, uploads and the sketchpad; models expect RGB,
but callers also hand over grey or RGBA arrays, or PIL images. Converting here keeps each
model short and turns a wrong shape into an error that says what was passed.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from perception.errors import ImageError


def as_rgb(image: np.ndarray | Image.Image) -> np.ndarray:
    """`image` as a contiguous HxWx3 uint8 RGB array (grey is repeated, alpha is dropped)."""
    if isinstance(image, Image.Image):
        image = image.convert("RGB")
    elif not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy array or PIL image, got {type(image).__name__}")
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ImageError(f"expected a uint8 image, got dtype {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"the image is empty (shape {array.shape})")
    return np.ascontiguousarray(array[:, :, :3])
