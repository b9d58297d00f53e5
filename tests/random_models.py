"""Models with random weights, to exercise the code paths of the real model classes in tests.

DESIGN: random weights never run outside tests, so they are built here and nowhere in the
packages. Their outputs are meaningless; tests assert shapes, plumbing and invariants only.
"""

from __future__ import annotations

from perception.detect import YoloDetector, require_ultralytics
from perception.image_embed import ClipEmbedder

SMALLEST_CLIP = "ViT-S-32-alt"  # the smallest open_clip architecture that needs no extra package


def random_clip(model: str = SMALLEST_CLIP, batch_size: int = 8) -> ClipEmbedder:
    """An open_clip architecture with random weights (`pretrained=None`: nothing is downloaded)."""
    import open_clip

    network, _, preprocess = open_clip.create_model_and_transforms(model, pretrained=None)
    tokenizer = open_clip.get_tokenizer(model)
    return ClipEmbedder.from_network(network, preprocess, tokenizer, f"open_clip:{model}/random", batch_size=batch_size)


def random_yolo(architecture: str = "yolo11n.yaml") -> YoloDetector:
    """A YOLO built from its architecture file, with random weights."""
    model = require_ultralytics().YOLO(architecture, task="detect")
    return YoloDetector.from_model(model, f"ultralytics:{architecture}/random")
