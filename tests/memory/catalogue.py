"""Helpers shared by the memory tests: a video row to hang memories on, the real text embedder."""

from __future__ import annotations

import functools

from memory.store import Library, VideoRecord
from perception.text_embed import SentenceEmbedder, locate_sentence_model


def add_video(library: Library, video_id: str = "0123456789abcdef", duration: float = 3600.0) -> str:
    """Register a video (memories reference it) and return its id."""
    with library.transaction() as conn:
        library.upsert_video(
            conn,
            VideoRecord(
                id=video_id,
                name=f"{video_id}.mp4",
                path=f"/videos/{video_id}.mp4",
                size_bytes=1,
                duration=duration,
                fps=25.0,
                width=320,
                height=240,
                has_audio=False,
                status="ingesting",
                committed_until=0.0,
                frames=0,
                sample_fps=1.0,
                settings={},
                error=None,
                created=0.0,
                updated=0.0,
            ),
        )
    return video_id


@functools.cache
def sentence_embedder() -> SentenceEmbedder:
    """all-MiniLM-L6-v2 from the bundled package, loaded once per test session."""
    return SentenceEmbedder(locate_sentence_model("all-MiniLM-L6-v2"))
