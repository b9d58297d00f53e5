"""The web app against a hostile client on 127.0.0.1: it serves nothing outside the uploads and clips folders
however the path is spelled, hostile video ids change nothing, uploads are bounded in size and in
number, and a flood of questions is queued (or refused with "queue is full"), never run all at once.

(test_server.py already checks /etc/passwd, the catalogue and a video path by their plain names, an
oversized upload, a traversal in an uploaded file's name and a server path that was not uploaded.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.clips import Clips
from app.web.limits import UPLOADS_PER_WINDOW
from app.web.uploads import MAX_NAME, safe_name, uploads_dir
from memory.store import Library
from perception.errors import VideoNotFoundError
from tests.app.web.serving import call, started
from tests.memory.library_check import library_state

HOSTILE_IDS = [
    "../../etc",
    "../catalogue",
    "..",
    "%",
    "_",
    "*",
    "' OR 1=1 --",
    "0" * 64,
    "\x00",
    "a" * 10_000,
    "/etc/passwd",
    "videos/../../x",
]


@pytest.fixture
def app_url(library):
    app, url = started(library, max_upload_mb=1)
    yield url
    app.close()


# -- files ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_nothing_outside_the_uploads_folder_is_served_however_it_is_spelled(app_url, library, video_id):
    home = Path(library.config.home)
    uploads = uploads_dir(home)
    uploads.mkdir(parents=True, exist_ok=True)
    link = uploads / "innocent.mp4"
    link.unlink(missing_ok=True)
    link.symlink_to(home / "catalogue.sqlite")  # a link planted inside a served folder
    clips = Clips(home).folder
    clips.mkdir(parents=True, exist_ok=True)
    clip_link = clips / "innocent.mp4"
    clip_link.unlink(missing_ok=True)
    clip_link.symlink_to(home / "catalogue.sqlite")
    bundle = next((home / "videos" / video_id / "frames").glob("*.bundle"))
    try:
        targets = [
            "/etc/passwd",
            "/proc/self/environ",
            "/proc/self/cmdline",
            f"{uploads}/../catalogue.sqlite",
            f"{clips}/../catalogue.sqlite",
            str(link),
            str(clip_link),
            str(bundle),
            str(home / "videos" / video_id / "visual.faiss"),
            "..%2F..%2F..%2Fetc%2Fpasswd",
            "%2Fetc%2Fpasswd",
            "%252Fetc%252Fpasswd",
            f"{uploads}%2F..%2Fcatalogue.sqlite",
            "~/.bashrc",
            "",
        ]
        routes = ["gradio_api/file=", "gradio_api/file/", "file=", "static/", "assets/", "gradio_api/static/"]
        served = []
        for target in targets:
            for route in routes:
                response = httpx.get(f"{app_url}{route}{target}", timeout=30)
                if response.status_code == 200 or b"SQLite format 3" in response.content or b"root:" in response.content:
                    served.append(f"{route}{target}: {response.status_code}")
        assert served == []
    finally:
        link.unlink(missing_ok=True)
        clip_link.unlink(missing_ok=True)


@given(st.text(max_size=300))
def test_an_upload_name_never_leaves_its_folder(name: str):
    clean = safe_name(name)
    folder = Path("/srv/uploads/0123456789abcdef")
    assert clean and len(clean) <= MAX_NAME and not clean.startswith(".")
    assert "/" not in clean and "\\" not in clean and "\x00" not in clean
    assert (folder / clean).resolve().parent == folder


@given(st.text(max_size=100))
def test_a_video_id_is_a_folder_inside_the_library_or_refused(tmp_path_factory, key: str):
    library = Library(tmp_path_factory.getbasetemp() / "ids")
    try:
        folder = library.video_dir(key)
    except VideoNotFoundError:
        return
    assert folder.parent == library.home / "videos" and folder.name == key


# -- video ids ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_hostile_video_ids_change_nothing_and_read_nothing(app_url, library):
    home = Path(library.config.home)
    before = library_state(home)
    for bad in HOSTILE_IDS:
        for api, data in (
            ("ask", [bad, "What is shown?"]),
            ("memory", [bad]),
            ("forget", [bad]),
            ("resume", [bad]),
            ("delete_fact", [bad, 1]),
        ):
            stream = call(app_url, api, data)
            assert "event: error" in stream or "Pick a video" in stream, (api, bad, stream[:300])
            assert "SQLite format" not in stream and "root:" not in stream
    assert library_state(home) == before
    assert [v.status for v in library.videos()] and all(v.status == "ready" for v in library.videos())


# -- uploads --------------------------------------------------------------------------------------------


def _upload(url: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{url}gradio_api/upload", files={"files": (name, data, "video/mp4")}, timeout=60)


@pytest.mark.slow
def test_uploads_are_bounded_in_number(library):
    app, url = started(library, max_upload_mb=1)
    try:
        codes = [_upload(url, f"tiny{i}.mp4", b"\0" * 1000).status_code for i in range(UPLOADS_PER_WINDOW + 6)]
        refused = _upload(url, "one-more.mp4", b"\0" * 1000)
    finally:
        app.close()
    assert codes[:UPLOADS_PER_WINDOW] == [200] * UPLOADS_PER_WINDOW and set(codes[UPLOADS_PER_WINDOW:]) == {429}
    assert "Too many uploads" in refused.json()["detail"] and int(refused.headers["retry-after"]) > 0


@pytest.mark.slow
def test_uploads_are_bounded_in_bytes(library):
    app, url = started(library, max_upload_mb=1)
    try:
        codes = [_upload(url, f"big{i}.mp4", b"\0" * 900_000).status_code for i in range(6)]
        oversized = _upload(url, "huge.mp4", b"\0" * 2_000_000).status_code
    finally:
        app.close()
    assert codes == [200, 200, 200, 200, 429, 429]  # four of the largest size allowed per window
    assert oversized in (413, 429)


# -- a flood of questions ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_flood_of_questions_is_queued_or_refused_and_the_app_still_answers(library, video_id):
    app, url = started(library, max_upload_mb=1)
    process = psutil.Process()
    try:
        assert "event: complete" in call(url, "ask", [video_id, "What code is shown?"])  # models loaded
        before = process.memory_info().rss

        def post(i: int) -> tuple[int, str]:
            response = httpx.post(
                f"{url}gradio_api/call/ask", json={"data": [video_id, f"What code is shown? ({i})"]}, timeout=60
            )
            return response.status_code, response.json().get("event_id") or response.json().get("detail", "")

        with ThreadPoolExecutor(32) as pool:
            posted = list(pool.map(post, range(300)))
        accepted = [event for code, event in posted if code == 200]
        refused = [detail for code, detail in posted if code != 200]

        def finish(event: str) -> bool:
            text = httpx.get(f"{url}gradio_api/call/ask/{event}", timeout=600).text
            return "event: complete" in text

        with ThreadPoolExecutor(16) as pool:
            completed = list(pool.map(finish, accepted))
        grown = (process.memory_info().rss - before) / 2**20
        after = call(url, "ask", [video_id, "What code is shown?"])
    finally:
        app.close()
    print(f"\n300 questions at once: {len(accepted)} queued and answered, {len(refused)} refused; RSS grew {grown:.0f} MB")
    assert refused and all("Queue is full" in detail for detail in refused)
    assert 0 < len(accepted) <= 64 + library.config.web.ask_concurrency + 32  # the queue's size, the running, the racing
    assert all(completed)
    assert "event: complete" in after and "4172" in after
