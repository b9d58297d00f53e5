"""Images a user asks about: opened safely, checked from the header before any decoding.

A file that claims 20000x20000 pixels would take over a gigabyte once decoded (a
"decompression bomb" is exactly that, in a few kilobytes), so its size is read from the
header first and refused there. Accepted images are turned upright (EXIF orientation),
made RGB and shrunk so that their longer side is at most MAX_SIDE: plenty for reading
text and drawing, and what a VLM would downscale to anyway.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from perception.errors import ImageError
from perception.rgb import as_rgb
from sketchpad import side_by_side

MAX_PIXELS = 100_000_000  # what an image may claim in its header
MAX_SIDE = 4096  # what it is shrunk to


def load_image(image: str | Path | np.ndarray | Image.Image) -> tuple[np.ndarray, str | None]:
    """An RGB uint8 array (longer side at most MAX_SIDE) and the file it came from, if any."""
    if isinstance(image, (str, Path)):
        return _open(Path(image).expanduser()), str(Path(image).expanduser().resolve())
    if isinstance(image, Image.Image):
        _check_size(image.size, "the image")
        return _shrink(as_rgb(np.asarray(image.convert("RGB")))), None
    if isinstance(image, np.ndarray):
        pixels = as_rgb(image)
        _check_size((pixels.shape[1], pixels.shape[0]), "the image")
        return _shrink(pixels), None
    raise ImageError(f"expected an image file path, a numpy array or a PIL image, got {type(image).__name__}")


def numbered_side_by_side(images: Sequence[str | Path | np.ndarray | Image.Image], height: int = 448) -> np.ndarray:
    """Several images as one, in a row at `height` px, captioned "image 1", "image 2", ... in order.

    `ask_image` takes one picture; a question about several (BLINK's jigsaw: "does the second
    or the third image fit the first?") keeps its numbering readable in the captions.
    """
    pictures = [load_image(image)[0] for image in images]
    captions = [f"image {number}" for number in range(1, len(pictures) + 1)]
    try:
        return side_by_side(pictures, captions=captions, height=height).render()
    except ValueError as err:  # no images, or a row too wide to draw
        raise ImageError(f"cannot put {len(pictures)} images side by side: {err}") from None


def _open(path: Path) -> np.ndarray:
    if not path.is_file():
        raise ImageError(f"there is no image file at {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                _check_size(picture.size, str(path))
                picture.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced size directly
                upright = ImageOps.exif_transpose(picture)
                return _shrink(as_rgb(np.asarray(upright.convert("RGB"))))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{path} is too large to open safely: {err}") from None
    except (OSError, ValueError, SyntaxError) as err:  # PIL's ways of saying "not an image" or "truncated"
        raise ImageError(f"cannot read {path} as an image (PNG, JPEG, WebP, ...): {err}") from None
    except ImportError:  # once ultralytics is loaded, its patched Image.open wants pi-heif for unknown formats
        raise ImageError(f"cannot read {path} as an image (PNG, JPEG, WebP, ...): unknown format") from None


def _check_size(size: tuple[int, int], what: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageError(f"{what} is empty ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{what} is {width}x{height} px ({width * height / 1e6:.0f} megapixels); at most "
            f"{MAX_PIXELS / 1e6:.0f} megapixels are accepted: downscale it first"
        )


def _shrink(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    if max(width, height) <= MAX_SIDE:
        return pixels
    picture = Image.fromarray(pixels)
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(picture)
