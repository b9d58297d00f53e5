"""Times as people read them: one format for prompts, evidence, captions, the CLI and the web app.

One format everywhere, so a model that quotes a time back quotes it in a form the parser
of its answer already knows, and a user sees the same moment written the same way in the
chat, under a frame and in a sketch.
"""

from __future__ import annotations

import math


def format_time(seconds: float) -> str:
    """`M:SS` below an hour, `H:MM:SS` above, with tenths only when they are not zero."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a timestamp must be a finite number of seconds >= 0, got {seconds!r}")
    whole, tenths = divmod(round(seconds * 10), 10)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{tenths}" if tenths else text


def format_span(start: float, end: float) -> str:
    """`M:SS-M:SS`, or one time when the span is a moment."""
    return format_time(start) if end <= start else f"{format_time(start)}-{format_time(end)}"
