"""Helpers shared by the memory tests: a video row to hang memories on, the real text embedder."""

from __future__ import annotations

import dataclasses
import functools

from memory.store import Library, VideoRecord
from perception.text_embed import SentenceEmbedder, locate_sentence_model


def video_record(video_id: str = "0123456789abcdef", name: str = "clip.mp4", **changes) -> VideoRecord:
    """A catalogue row for a video that is not on disk, with `changes` applied."""
    base = VideoRecord(
        id=video_id,
        name=name,
        path=f"/videos/{name}",
        size_bytes=1234,
        duration=61.5,
        fps=25.0,
        width=320,
        height=240,
        has_audio=True,
        status="ingesting",
        committed_until=0.0,
        frames=0,
        sample_fps=1.0,
        settings={},
        error=None,
        created=1000.0,
        updated=1000.0,
    )
    return dataclasses.replace(base, **changes)


def add_video(library: Library, video_id: str = "0123456789abcdef", duration: float = 3600.0) -> str:
    """Register a video (memories reference it) and return its id."""
    with library.transaction() as conn:
        library.upsert_video(conn, video_record(video_id, f"{video_id}.mp4", size_bytes=1, duration=duration, has_audio=False))
    return video_id


@functools.cache
def sentence_embedder() -> SentenceEmbedder:
    """all-MiniLM-L6-v2 from the bundled package, loaded once per test session."""
    return SentenceEmbedder(locate_sentence_model("all-MiniLM-L6-v2"))
