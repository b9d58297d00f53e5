"""The Status tab: the library, the limits this server runs under, and every model role (`longshot doctor`)."""

from typing import Any

import gradio as gr

from app.web.page import Page, shown, table

DOCTOR_HEADERS = ["Role", "Backend", "Model", "Available", "Source or reason"]


def doctor_rows(longshot: Any) -> list[list[str]]:
    return [
        [r.role, r.backend, r.model, "yes" if r.available else "no", r.source if r.available else r.reason]
        for r in longshot.models.doctor()
    ]


def status_tab(page: Page) -> None:
    """The tab's layout, filled when the page loads."""
    with gr.Tab("Status", id="status", elem_id="ls-tab-status"):
        text = gr.Markdown("")
        doctor = table(DOCTOR_HEADERS, "Models (longshot doctor)", "ls-doctor", ["13%", "15%", "18%", "8%", "46%"])

    @shown
    def load_status():
        web = page.web
        summary = (
            f"**Library home:** `{page.home}` · **videos:** {len(page.longshot.videos())} · "
            f"**uploads up to** {web.max_upload_mb} MB · **ingests at once:** {web.ingest_concurrency} · "
            f"**questions at once:** {web.ask_concurrency}"
        )
        return summary, doctor_rows(page.longshot)

    page.blocks.load(load_status, None, [text, doctor], api_name="status")
