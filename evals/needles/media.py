"""The raw material of the needle videos: where the real media folder is, its LibriVox readings, espeak-ng speech.

The media folder (footage and LibriVox clips made by others, see its README) is not part
of the package: it is found from, in order, an explicit argument (`--media`), the
configuration key `media` (`LONGSHOT_MEDIA`, or `media = "..."` in the config file), and
`../shared/media` beside a source checkout. An installed Longshot has no checkout, so
without the first two it raises `MediaFolderError` naming them.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from perception.config import load_config
from perception.errors import ConfigError, MediaError

SAMPLE_RATE = 16000
LIBRIVOX = "audio/librivox"
_CHECKOUT = Path(__file__).resolve().parents[2]  # the project root, when running from a source checkout


class MediaFolderError(MediaError):
    """The real media folder the needle sets are built from cannot be found."""


def find_media(media: str | Path | None = None) -> Path | None:
    """The media folder from the argument, the configuration, or beside a checkout; None when none of them names one."""
    if media is not None and str(media):
        return Path(media).expanduser()
    try:
        configured = load_config().media
    except ConfigError:
        configured = ""
    if configured:
        return Path(configured).expanduser()
    beside = _CHECKOUT.parent / "shared" / "media"
    return beside if (_CHECKOUT / "pyproject.toml").is_file() and beside.is_dir() else None


def resolve_media(media: str | Path | None = None) -> Path:
    """The media folder, which must exist; MediaFolderError says where it was looked for and how to name it."""
    found = find_media(media)
    if found is None:
        raise MediaFolderError(
            "the needle sets are built from a folder of real media (footage and LibriVox readings) that is not part of "
            'Longshot; name it with --media PATH, LONGSHOT_MEDIA=PATH or `media = "PATH"` in the config file'
        )
    if not found.is_dir():
        raise MediaFolderError(f"the media folder {found} does not exist (from --media, LONGSHOT_MEDIA or the config key media)")
    return found


@dataclass(frozen=True)
class Reading:
    """One LibriVox clip: its id, exact transcript and audio (int16 mono at SAMPLE_RATE)."""

    clip: str
    transcript: str
    samples: np.ndarray

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def librivox(media: Path, clips: tuple[str, ...] | None = None) -> tuple[Reading, ...]:
    """The LibriVox readings of the media folder (all of them, or those named), with their transcripts."""
    folder = media / LIBRIVOX
    listing = folder / "transcription.txt"
    if not listing.is_file():
        raise MediaError(f"{listing} is missing; the needle sets need the LibriVox clips of the real media folder")
    transcripts = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*<s>(.*)</s>\s*\((.+)\)\s*", line)
        if match:
            transcripts[match.group(2).strip()] = match.group(1).strip()
    missing = sorted(set(clips or ()) - set(transcripts))
    if missing:
        raise MediaError(f"{listing} has no transcript of {', '.join(missing)}")
    return tuple(Reading(c, transcripts[c], read_audio(folder / f"{c}.wav")) for c in clips or sorted(transcripts))


def read_audio(source: Path | bytes) -> np.ndarray:
    """A whole audio file (a path, or the bytes of one) as int16 mono at SAMPLE_RATE."""
    name = source if isinstance(source, Path) else "espeak-ng output"
    try:
        with av.open(str(source) if isinstance(source, Path) else io.BytesIO(source), "r") as container:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            frames = [out for frame in container.decode(audio=0) for out in resampler.resample(frame)]
            frames += resampler.resample(None)
    except (av.error.FFmpegError, IndexError) as err:
        raise MediaError(f"cannot read the audio of {name}: {err}") from err
    if not frames:
        raise MediaError(f"{name} holds no audio")
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)


def synthesise(text: str, voice: str = "en-us", rate: int = 160) -> np.ndarray:
    """`text` spoken by espeak-ng (deterministic for one version of it), as int16 mono at SAMPLE_RATE."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise MediaError("building the needle sets needs the espeak-ng program; install it (apt-get install espeak-ng)")
    result = subprocess.run([espeak, "-v", voice, "-s", str(rate), "--stdout", text], capture_output=True)
    if result.returncode != 0 or not result.stdout:
        raise MediaError(
            f"espeak-ng could not speak {text!r} with voice {voice}: {result.stderr.decode(errors='replace')[-300:]}"
        )
    return read_audio(result.stdout)
