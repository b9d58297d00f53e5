"""A model role that is unavailable is remembered, and raised again on every use: each raise must
be a fresh error, or the remembered one's traceback grows by the caller's frames each time and
keeps everything those frames hold alive (found by the soak run: a megabyte a question)."""

from __future__ import annotations

import contextlib
import gc
import weakref

import pytest

from perception.config import Config
from perception.errors import ModelUnavailableError
from perception.models import Models


class _Held:
    """Something a caller's frame holds while it asks for a model."""


@pytest.mark.parametrize("role, attribute", [("detector", "detector"), ("image_embedding", "image_embedder"), ("vlm", "vlm")])
def test_asking_for_an_unavailable_model_keeps_no_caller_alive(role: str, attribute: str):
    models = Models(Config().replace(**{f"models__{role}": "none"}))

    def use() -> weakref.ref:
        held = _Held()
        with contextlib.suppress(ModelUnavailableError):
            getattr(models, attribute)
        models.available(role)
        models.doctor()
        return weakref.ref(held)

    refs = [use() for _ in range(3)]
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
