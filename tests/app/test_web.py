"""The web app: its handlers as plain functions, then the running app through gradio_client.

The handlers run on the session library (a 60 s video with two notices); the app tests
start a real server on 127.0.0.1 and talk to it over HTTP, as a browser would.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from app.answer import Answer, Evidence
from app.web import serve
from app.web_chat import (
    QuestionError,
    all_evidence,
    answer_message,
    chat_stream,
    evidence_frames,
    frame_at,
    player_html,
    sketch_images,
    step_message,
)
from app.web_jobs import IngestJobs, JobStatus
from app.web_library import jobs_html, library_rows, video_choices
from app.web_memory import delete_fact, entity_rows, fact_moments, fact_rows, timeline_figure, timeline_rows
from app.web_uploads import UploadRejectedError, accept_upload, in_uploads, safe_name, uploads_dir
from perception.errors import NotAVideoError
from perception.timefmt import format_time
from tests.synth import make_video

slow = pytest.mark.slow  # the tests that need the ingested session library or a running server

PARCEL = "PARCEL 5531 READY"


@pytest.fixture(scope="module")
def small_video(tmp_path_factory) -> Path:
    """A 12 s video with one notice: small enough to ingest in a test, new to the session library."""
    folder = tmp_path_factory.mktemp("web-media")
    return make_video(folder / "parcel.mp4", seconds=12, fps=2, size=(320, 240), texts=[(3.0, 8.0, PARCEL)])


@pytest.fixture(scope="module")
def not_a_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "holiday.mp4"
    path.write_text("this is a text file wearing a video's name\n" * 50)
    return path


@pytest.fixture(scope="module")
def jobs(library) -> IngestJobs:
    return IngestJobs(library, workers=1)


@pytest.fixture(scope="module")
def parcel_id(library, jobs, small_video) -> str:
    """The small video, uploaded and ingested the way the web app does it."""
    path = accept_upload(library.config.home, small_video, small_video.name, max_mb=10)
    video = jobs.start(path)
    status = jobs.wait(video, timeout=600)
    assert status is not None and status.state == "done", status
    return video


# -- uploads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clip.mp4", "clip.mp4"),
        ("../../etc/passwd.mp4", "passwd.mp4"),
        ("..\\..\\windows\\evil.MKV", "evil.mkv"),
        ("/absolute/path/movie.webm", "movie.webm"),
        (".bashrc.mp4", "bashrc.mp4"),
        ("..", "video"),
        ("", "video"),
        ("a\x00b\nc.mp4", "abc.mp4"),
        ("my holiday (2024).mp4", "my holiday (2024).mp4"),
        ("x" * 300 + ".mp4", "x" * 116 + ".mp4"),
    ],
)
def test_safe_name_keeps_a_plain_base_name(name, expected):
    assert safe_name(name) == expected


def test_upload_lands_in_the_library_under_its_hash_and_only_once(home, small_video):
    first = accept_upload(home, small_video, "../../../escape/parcel.mp4", max_mb=10)
    assert first.parent.parent == uploads_dir(home)
    assert first.name == "parcel.mp4" and first.read_bytes() == small_video.read_bytes()
    assert accept_upload(home, small_video, "parcel.mp4", max_mb=10) == first
    assert sorted(p.name for p in uploads_dir(home).rglob("*")) == sorted([first.parent.name, "parcel.mp4"])
    assert in_uploads(home, first) and not in_uploads(home, small_video)


def test_non_video_renamed_mp4_is_rejected_before_the_library(home, not_a_video):
    with pytest.raises(UploadRejectedError, match="holiday.mp4 was rejected: it is not a video"):
        accept_upload(home, not_a_video, not_a_video.name, max_mb=10)
    assert not any(uploads_dir(home).rglob("*.mp4")) if uploads_dir(home).exists() else True


def test_oversized_upload_is_rejected_with_the_limit(home, small_video):
    with pytest.raises(UploadRejectedError, match=r"accepts videos up to 0\.01 MB \(set web.max_upload_mb"):
        accept_upload(home, small_video, small_video.name, max_mb=0.01)
    assert not uploads_dir(home).exists() or not any(uploads_dir(home).iterdir())


def test_upload_without_a_video_suffix_is_rejected(home, small_video):
    with pytest.raises(UploadRejectedError, match="does not look like a video file"):
        accept_upload(home, small_video, "notes.txt", max_mb=10)


def test_a_link_out_of_the_uploads_folder_is_not_served(home, small_video):
    link = uploads_dir(home) / "abc" / "link.mp4"
    link.parent.mkdir(parents=True)
    link.symlink_to(small_video)
    assert not in_uploads(home, link)
    assert "does not serve its file" in player_html(home, dataclasses.replace(_record(home), path=str(link)))


def _record(home: Path):
    from memory.store import VideoRecord

    return VideoRecord(
        id="0123456789abcdef",
        name="parcel.mp4",
        path=str(home / "x.mp4"),
        size_bytes=1,
        duration=12.0,
        fps=2.0,
        width=320,
        height=240,
        has_audio=False,
        status="ingesting",
        committed_until=6.0,
        frames=6,
        sample_fps=1.0,
        settings={},
        error=None,
        created=0.0,
        updated=0.0,
    )


# -- ingest jobs -----------------------------------------------------------------------------


@slow
def test_job_reports_progress_and_ends_done(library, jobs, parcel_id):
    status = jobs.status(parcel_id)
    assert status.state == "done" and status.fraction == 1.0 and status.total == pytest.approx(12.0, abs=0.5)
    assert library.video(parcel_id).status == "ready"
    assert "parcel.mp4" in jobs_html([status]) and "100%" in jobs_html([status])
    again = jobs.start(Path(library.video(parcel_id).path))
    assert again == parcel_id
    assert jobs.wait(again, timeout=60).already_done


@slow
def test_job_refuses_a_non_video_at_once(jobs, not_a_video):
    with pytest.raises(NotAVideoError):
        jobs.start(not_a_video)


def test_job_status_reads_like_a_sentence():
    running = JobStatus("v", "a.mp4", "running", "ocr", done=30.0, total=90.0, elapsed=10.0, eta=20.0)
    assert running.describe() == "reading on-screen text: 0:30 of 1:30 watched, about 0:20 left"
    assert running.fraction == pytest.approx(1 / 3)
    assert JobStatus("v", "a.mp4", "failed", "ocr", 0, 10, error="disk full").describe() == "failed: disk full"
    assert JobStatus("v", "a.mp4", "queued", "queued", 0, 10).describe().startswith("waiting")


@slow
def test_library_lists_videos_newest_first_with_their_state(library, jobs, parcel_id, video_id):
    choices = video_choices(library, jobs)
    assert choices[0][1] == parcel_id and "parcel.mp4" in choices[0][0] and "ready" in choices[0][0]
    assert video_id in [value for _, value in choices]
    rows = {row[4]: row for row in library_rows(library, jobs)}
    assert rows[video_id][0] == "notices.mp4" and rows[video_id][1] == "1:00" and rows[video_id][2] == "ready"


# -- the chat ----------------------------------------------------------------------------------


@slow
def test_chat_streams_steps_as_tool_messages_then_the_answer(library, video_id):
    states = list(chat_stream(library, video_id, "What is the vault code?", []))
    first, _ = states[0]
    assert first[0] == {"role": "user", "content": "What is the vault code?"}
    assert first[-1]["metadata"]["status"] == "pending"
    steps = [m for m in states[-2][0] if m.get("metadata", {}).get("status") == "done"]
    assert steps and all(m["metadata"]["title"] and "duration" in m["metadata"] for m in steps)
    assert any(m["metadata"]["title"].startswith("Searched the timeline") for m in steps)
    final, answer = states[-1]
    assert isinstance(answer, Answer) and "4172" in answer.text
    assert "pending" not in str(final) and "4172" in final[-1]["content"] and "metadata" not in final[-1]
    assert all(a is None for _, a in states[:-1])


@slow
def test_chat_keeps_the_history_of_earlier_questions(library, video_id):
    history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"}]
    final, _ = list(chat_stream(library, video_id, "When is GATE B7 CLOSED shown?", history))[-1]
    assert final[:2] == history and final[2]["content"] == "When is GATE B7 CLOSED shown?"


@slow
@pytest.mark.parametrize(("video", "question", "message"), [(None, "what?", "pick a video"), ("x", "  ", "type a question")])
def test_chat_refuses_what_it_cannot_ask(library, video, question, message):
    with pytest.raises(QuestionError, match=message):
        next(chat_stream(library, video, question, []))


@slow
def test_evidence_frames_have_their_time_drawn_and_in_the_caption(library, video_id):
    answer = library.ask(video_id, "What is the vault code?")
    frames = evidence_frames(library, video_id, all_evidence(answer))
    assert frames and len({f.time for f in frames}) == len(frames)
    store = library.frames(video_id)
    for view in frames:
        assert view.image.ndim == 3 and view.image.shape[2] == 3
        assert view.caption.startswith(format_time(view.time))
        plain = store.get(int(np.argmin(np.abs(store.times - view.time))))
        assert view.image.shape == plain.shape and not np.array_equal(view.image[:30, :80], plain[:30, :80])
    assert any(20 <= f.time <= 30 for f in frames)


def test_answer_says_when_the_video_was_still_being_ingested(home):
    answer = Answer("the code is 4172", None, (3.0, 5.0), (), (), 0.5, policy="offline")
    text = answer_message(answer, _record(home))["content"]
    assert text.startswith("**the code is 4172**") and "<small>at 0:03–0:05 ·" in text
    assert "first 0:06 of 0:12" in text and "still being ingested" in text


@slow
def test_video_text_is_shown_as_text_not_markup(library, video_id):
    step = next(s for s in library.ask(video_id, "What is the vault code?").trace if s.evidence)
    hostile = dataclasses.replace(step, summary="<img src=x onerror=alert(1)>")
    assert "<img" not in step_message(hostile)["content"] and "&lt;img" in step_message(hostile)["content"]


def test_sketches_are_loaded_and_missing_ones_skipped(tmp_path):
    picture = np.zeros((40, 60, 3), dtype=np.uint8)
    picture[10:30, 10:50] = (255, 0, 0)
    Image.fromarray(picture).save(tmp_path / "sketch.png")
    found_evidence = [
        Evidence("sketch", 1.0, 1.0, "ocr: 2 lines", 1.0, image_path=str(tmp_path / "sketch.png")),
        Evidence("sketch", 2.0, 2.0, "gone", 1.0, image_path=str(tmp_path / "missing.png")),
        Evidence("frame", 3.0, 3.0, "not a sketch", 1.0),
    ]
    found = sketch_images(found_evidence)
    assert len(found) == 1 and np.array_equal(found[0][0], picture) and found[0][1] == "0:01 · ocr: 2 lines"
    assert sketch_images(found_evidence[:1], timed=False)[0][1] == "ocr: 2 lines"


@slow
def test_player_plays_the_library_copy_from_a_moment(library, parcel_id):
    still = frame_at(library, parcel_id, 4.0)
    html = player_html(library.config.home, library.video(parcel_id), 4.0, still)
    assert '<video class="ls-player"' in html and "/gradio_api/file=" in html and "#t=4.0" in html
    assert str(uploads_dir(library.config.home)) in html.replace("%2F", "/")
    assert 'poster="data:image/jpeg;base64,' in html and "from 0:04" in html and still.time == 4.0


@slow
def test_player_shows_the_frame_where_the_browser_cannot_play(library, parcel_id, video_id):
    record = library.video(parcel_id)
    avi = dataclasses.replace(record, path=str(Path(record.path).with_suffix(".avi")))
    html = player_html(library.config.home, avi, 4.0, frame_at(library, parcel_id, 4.0))
    assert "<video" not in html and '<img class="ls-player" src="data:image/jpeg' in html and "cannot play .avi" in html
    outside = player_html(library.config.home, library.video(video_id), 21.0, frame_at(library, video_id, 21.0))
    assert "<video" not in outside and "<img" in outside and "does not serve its file" in outside


# -- the memory browser --------------------------------------------------------------------------


@slow
def test_timeline_rows_per_scale_and_figure(library, video_id):
    base = timeline_rows(library, video_id, "10.0")
    assert [row[1] for row in base] == ["0:00", "0:10", "0:20", "0:30", "0:40", "0:50"]
    assert any("VAULT CODE 4172" in row[4] for row in base)
    assert {row[0] for row in timeline_rows(library, video_id, "all")} == {"0:10", "0:30"}
    figure = timeline_figure(library, video_id)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["0:10 segments", "0:30 segments", "facts"]


@slow
def test_entities_and_facts_with_their_moments(library, video_id):
    assert "VAULT CODE 4172" in [row[0] for row in entity_rows(library, video_id)]
    row = next(r for r in fact_rows(library, video_id) if "4172" in r[3])
    assert row[7].startswith("0:20–0:30")
    text, frames = fact_moments(library, video_id, row[0])
    assert "4172" in text and frames and all(20 <= f.time < 30 for f in frames)


@slow
def test_deleting_a_fact_removes_it_and_its_orphan_entity(library, parcel_id):
    rows = fact_rows(library, parcel_id)
    fact = next(r for r in rows if "5531" in r[3])
    assert "Deleted fact" in delete_fact(library, fact[0])
    assert fact[0] not in [r[0] for r in fact_rows(library, parcel_id)]
    assert fact[1] not in [r[0] for r in entity_rows(library, parcel_id)]


# -- the running app, through gradio_client ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(library):
    web = dataclasses.replace(library.config.web, port=_free_port(), max_upload_mb=1)
    app, url = serve(library, web=web, block=False)
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


def _call(app_url: str, api_name: str, data: list) -> str:
    """Call an endpoint over Gradio's plain HTTP API (no client-side uploads); the event stream's text."""
    event = httpx.post(f"{app_url}gradio_api/call/{api_name}", json={"data": data}).json()["event_id"]
    return httpx.get(f"{app_url}gradio_api/call/{api_name}/{event}", timeout=120).text


@slow
def test_app_refuses_a_server_path_that_was_not_uploaded(app_url, notices_video, library):
    before = sorted(uploads_dir(library.config.home).rglob("*"))
    stream = _call(app_url, "ingest", [{"path": str(notices_video), "meta": {"_type": "gradio.FileData"}}])
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
    assert step_counts == sorted(step_counts) and step_counts[-1] >= 2  # steps arrive one by one
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
