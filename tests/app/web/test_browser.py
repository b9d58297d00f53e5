"""The web app in a real headless Chromium: upload real footage, reload mid-ingest, ask, see the evidence.

Debian's chromium (never a downloaded browser) driven by Playwright. Screenshots go to
test-artifacts/ at the project root, for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app import Longshot
from tests.app.web.serving import started

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
FOOTAGE = "video/Megamind.avi"  # 11 s of animated dialogue: real speech to ask about
QUESTION = "What should you not judge a book by?"
INGEST_TIMEOUT_MS = 300_000
ANSWER_TIMEOUT_MS = 120_000
PLAYABLE = """v => new Promise(done => {
    if (v.readyState >= 2) return done(v.readyState);
    v.addEventListener('loadeddata', () => done(v.readyState));
    v.addEventListener('error', () => done(-1));
    v.load();
})"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    app, url = started(Longshot(home=tmp_path_factory.mktemp("browser-home")))
    yield url
    app.close()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium package (see .ci/run)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1000},
        )
        yield context.new_page()
        context.close()


def test_upload_ingest_ask_and_see_the_evidence(page, app_url, media, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(app_url)
    page.get_by_role("tab", name="Library").click()
    upload = page.locator("#ls-upload input[type=file]")

    # A text file wearing a video's name is refused with a message, and nothing is ingested.
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video at all\n" * 100)
    upload.set_input_files(str(fake))
    page.get_by_text("it is not a video").first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "web-rejected-upload.png"), full_page=True)
    page.reload()

    # Real footage: ingest starts on upload; its progress survives a page reload.
    footage = tmp_path / "Megamind.avi"
    shutil.copyfile(media / FOOTAGE, footage)
    page.get_by_role("tab", name="Library").click()
    page.locator("#ls-upload input[type=file]").set_input_files(str(footage))
    page.locator("#ls-jobs .ls-job", has_text="Megamind.avi").wait_for(timeout=60_000)
    page.reload()
    job = page.locator("#ls-jobs .ls-job", has_text="Megamind.avi")
    job.wait_for(timeout=30_000)
    page.locator("#ls-jobs .ls-job.ls-done", has_text="Megamind.avi").wait_for(timeout=INGEST_TIMEOUT_MS)

    page.get_by_role("tab", name="Ask").click()
    page.locator("#ls-video input").wait_for()
    assert "Megamind.avi" in page.locator("#ls-video input").input_value()
    page.locator("#ls-question textarea").fill(QUESTION)
    page.locator("#ls-ask").click()

    chat = page.locator("#ls-chat")
    chat.get_by_text("cover").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    evidence = page.locator("#ls-evidence img")
    evidence.first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert chat.get_by_text("Searched the timeline").count() >= 1  # the agent's steps, as tool messages
    caption = page.locator("#ls-evidence").inner_text()
    assert re.search(r"\b\d:\d\d · (frame|segment|fact|occurrence)", caption), caption
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "web-answer.png"), full_page=True)

    # Clicking a frame plays that moment: Chromium cannot play AVI, so the app cuts an MP4 clip around it.
    second = page.locator("#ls-evidence .caption-label").nth(1).inner_text().split(" · ")[0]
    evidence.nth(1).click()
    page.locator("#ls-player", has_text=f"Megamind.avi from {second} · a clip of").wait_for(timeout=60_000)
    ready = page.locator("#ls-player video").evaluate(PLAYABLE)
    assert ready >= 2, "the browser could not decode the clip"

    # The memory browser: the timeline, facts from the speech, a fact's moments, and deleting it.
    page.get_by_role("tab", name="Memory").click()
    page.locator("#ls-tab-memory h3", has_text="Megamind.avi").wait_for(timeout=60_000)
    page.locator("#ls-timeline-plot img").wait_for(timeout=60_000)
    assert "said" in page.locator("#ls-facts").inner_text()
    page.locator("#ls-facts [data-testid=cell-0-1]").click()
    page.locator("#ls-moments img").first.wait_for(timeout=60_000)
    page.locator("#ls-delete-fact", has_text="Delete fact #").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "web-memory.png"), full_page=True)
    page.locator("#ls-delete-fact").click()
    page.get_by_text("Deleted fact #").first.wait_for(timeout=30_000)

    # Search: the whole library at once, and an answer across it whose frames play their moment.
    page.get_by_role("tab", name="Search").click()
    page.locator("#ls-search-query textarea").fill("What should you not judge a book by?")
    page.locator("#ls-ask-all").click()
    page.locator("#ls-library-answer", has_text="Videos tried").wait_for(timeout=ANSWER_TIMEOUT_MS)
    said = page.locator("#ls-library-answer").inner_text()
    assert "Megamind.avi" in said and "cover" in said
    page.locator("#ls-library-frames img").first.click()
    page.locator("#ls-library-player", has_text="Megamind.avi from").wait_for(timeout=60_000)
    assert page.locator("#ls-library-player video").evaluate(PLAYABLE) >= 2
    page.screenshot(path=str(ARTIFACTS / "web-search.png"), full_page=True)
