"""The Gradio web app (`longshot serve`), one module per tab or concern.

server: assembles the tabs and launches safely. page: what tabs share. style: looks.
Tabs: ask, library, memory_browser, image, status. Plain data they show: chat (messages),
evidence (frames, sketches, player). Concerns: uploads (checked before the library),
limits (uploads per hour), jobs (ingests that outlive the page).

Nothing is imported here, so `app.web.uploads` can be used without loading Gradio.
"""
