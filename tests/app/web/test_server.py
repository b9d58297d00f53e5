"""The running app, through gradio_client and Gradio's HTTP API, as a browser would talk to it."""

from __future__ import annotations

import time
import typing
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from app import Longshot
from app.web.jobs import IngestJobs
from app.web.server import build_app
from app.web.uploads import uploads_dir
from tests.app.web.serving import call, started

slow = pytest.mark.slow


def test_the_tabs_offer_every_endpoint_with_hints_gradio_can_read(home):
    """Gradio injects `gr.SelectData` and `gr.Progress` by reading a handler's type hints, and quietly
    injects nothing when a hint does not resolve: every handler's must."""
    longshot = Longshot(home=home)
    app = build_app(longshot, IngestJobs(longshot))
    hints = {fn.api_name: typing.get_type_hints(fn.fn) for fn in app.fns.values()}
    endpoints = {"pick", "ask", "play", "ingest", "resume", "forget", "library", "memory", "fact", "delete_fact", "ask_image"}
    assert endpoints | {"status", "search_library", "ask_library", "play_moment"} <= set(hints)
    assert "evt" in hints["play"] and "evt" in hints["fact"] and "evt" in hints["play_moment"]
    assert "request" in hints["forget"] and "request" in hints["delete_fact"]


@pytest.fixture(scope="module")
def app_url(library):
    app, url = started(library, max_upload_mb=1)
    yield url
    app.close()


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False, analytics_enabled=False)


@slow
def test_app_binds_to_localhost_and_serves_only_the_uploads_folder(app_url, library, notices_video):
    assert app_url.startswith("http://127.0.0.1:")
    catalogue = Path(library.config.home) / "catalogue.sqlite"
    for path in (catalogue, notices_video, Path("/etc/passwd")):
        assert httpx.get(f"{app_url}gradio_api/file={path}").status_code == 403


@slow
def test_app_ingests_an_upload_and_lists_it(client, small_video, library):
    note, picker, rows = client.predict(handle_file(str(small_video)), api_name="/ingest")
    assert "parcel.mp4" in note and ("already in the library" in note or "done in" in note)
    assert picker["value"] == library.video("parcel.mp4").id
    assert any(row[0] == "parcel.mp4" for row in rows["data"])


@slow
def test_app_rejects_a_non_video_with_a_message(client, not_a_video, library):
    note, *_ = client.predict(handle_file(str(not_a_video)), api_name="/ingest")
    assert note.startswith("✗ **Not ingested.**") and "holiday.mp4 was rejected: it is not a video" in note
    assert not list(uploads_dir(library.config.home).rglob("holiday.mp4"))


@slow
def test_app_rejects_an_oversized_upload(client, tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (2 * 2**20))
    with pytest.raises(Exception, match="(?i)exceeds|too large|maximum"):
        client.predict(handle_file(str(big)), api_name="/ingest")


@slow
def test_app_sanitises_a_path_traversal_name(app_url, library, small_video):
    with small_video.open("rb") as handle:
        uploaded = httpx.post(f"{app_url}gradio_api/upload", files={"files": ("../../../../tmp/evil.mp4", handle, "video/mp4")})
    server_path = uploaded.json()[0]
    client = Client(app_url, verbose=False, analytics_enabled=False)
    note, *_ = client.predict(
        {"path": server_path, "meta": {"_type": "gradio.FileData"}, "orig_name": "../../evil.mp4"}, api_name="/ingest"
    )
    assert "evil.mp4" in note
    stored = list(uploads_dir(library.config.home).rglob("evil.mp4"))
    assert len(stored) == 1 and stored[0].parent.parent == uploads_dir(library.config.home)


@slow
def test_app_refuses_a_server_path_that_was_not_uploaded(app_url, notices_video, library):
    before = sorted(uploads_dir(library.config.home).rglob("*"))
    stream = call(app_url, "ingest", [{"path": str(notices_video), "meta": {"_type": "gradio.FileData"}}])
    assert "event: error" in stream
    assert sorted(uploads_dir(library.config.home).rglob("*")) == before


def _text(message: dict) -> str:
    content = message["content"]
    return " ".join(part.get("text", "") for part in content) if isinstance(content, list) else str(content)


@slow
def test_app_streams_the_steps_then_the_answer_and_evidence(client, video_id):
    job = client.submit(video_id, "What is the vault code?", api_name="/ask")
    while not job.done():
        time.sleep(0.1)
    outputs = job.outputs()
    chats = [out[0] for out in outputs]
    assert len(chats) >= 3 and chats[0][-1]["metadata"]["status"] == "pending"
    step_counts = [sum(1 for m in chat if (m.get("metadata") or {}).get("status") == "done") for chat in chats]
    # the pending message first, then each step as it is done (the timeline answers this in one search)
    assert step_counts == sorted(step_counts) and step_counts[0] == 0 and step_counts[-1] >= 1
    final, question_box, gallery, _sketches = outputs[-1]
    assert "4172" in _text(final[-1]) and not final[-1].get("metadata")
    assert question_box == ""
    assert gallery and all(item["caption"][0].isdigit() and Path(item["image"]).is_file() for item in gallery)


@slow
def test_app_reports_an_unknown_video_in_the_page(client):
    with pytest.raises(Exception, match="no video 'nonexistent'"):
        client.predict("nonexistent", "What is shown?", api_name="/ask")


@slow
def test_app_memory_browser_and_status(client, video_id):
    title, _plot, _scale, timeline, entities, facts, *_ = client.predict(video_id, api_name="/memory")
    assert "notices.mp4" in title
    assert any("VAULT CODE 4172" in " ".join(map(str, row)) for row in timeline["data"])
    assert "VAULT CODE 4172" in [row[0] for row in entities["data"]]
    assert any("4172" in str(row[3]) for row in facts["data"])
    status, doctor = client.predict(api_name="/status")
    assert "Library home" in status and {row[0] for row in doctor["data"]} >= {"ocr", "speech", "text_embedding"}


@slow
def test_app_forgets_a_video_and_its_uploaded_copy(client, library, parcel_id):
    copy = Path(library.video(parcel_id).path)
    assert copy.is_file()
    client.predict(parcel_id, api_name="/forget")
    assert parcel_id not in [r.id for r in library.videos()]
    assert not copy.exists() and not copy.parent.exists() and uploads_dir(library.config.home).is_dir()
