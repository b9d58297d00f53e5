"""Typed errors. Every error a user can see carries a message they can act on.

They live in the lowest layer so that every package can raise and catch them.
"""

from __future__ import annotations


class LongshotError(Exception):
    """Base of every error Longshot raises on purpose."""


class ConfigError(LongshotError):
    """A configuration key is unknown or has a value of the wrong type."""


class MediaError(LongshotError):
    """A media file cannot be used."""


class NotAVideoError(MediaError):
    """The file is not a container FFmpeg or decord can open."""


class NoVideoStreamError(MediaError):
    """The container opens but holds no video stream (audio-only, subtitles...)."""


class EmptyVideoError(MediaError):
    """The video has no decodable frames or a zero duration."""


class UnreadableVideoError(MediaError):
    """The path is missing, unreadable, or decoding failed beyond recovery."""


class SubtitleError(MediaError):
    """A subtitle or timed-text file is missing, of an unknown kind, or malformed."""


class FrameSequenceError(MediaError):
    """Frames handed to an analysis are not same-sized RGB images at increasing times."""


class ImageError(MediaError):
    """An image cannot be opened or is too large to handle safely."""


class ModelUnavailableError(LongshotError):
    """A model role has no usable weights; the message says what to install or configure."""

    def __init__(self, role: str, reason: str, hint: str = ""):
        self.role = role
        self.reason = reason
        self.hint = hint
        super().__init__(f"{role} is unavailable: {reason}" + (f". {hint}" if hint else ""))


class ModelOutputError(LongshotError):
    """A model returned something that cannot be parsed or used."""


class VLMError(LongshotError):
    """The VLM endpoint failed after retries, or timed out."""


class StorageError(LongshotError):
    """The library on disk cannot be read or written (disk full, corrupt file...)."""


class DiskFullError(StorageError):
    """No space left where the library lives."""


class VideoNotFoundError(LongshotError):
    """No video with that id or name is in the library."""


class VideoReferenceError(LongshotError, TypeError):
    """A value that cannot name a video: not an id, a file name, a path, a VideoRecord or an IngestResult."""


class AuthRequiredError(LongshotError):
    """A server would be reachable beyond this machine without credentials, or a request lacks them."""


class ToolArgumentError(LongshotError):
    """A sketchpad tool was called with arguments that fail its schema or the image bounds."""
