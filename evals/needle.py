"""The classic needle set (`needle:classic`): a long video of real footage with six needles, each inside one segment.

This is the first, easy set: every needle sits inside one 10 s segment and the questions
are "when", "which is said/shown" and "which first". The honest sets, with events at any
second, repeats and thirteen question types, are `evals.needles` (`needle:full`, `needle:ci`,
`needle:heldout`). This one stays for `longshot bench ask` and `bench ingest`, whose figures
are measured on it.

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
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import ImageFont

from evals.datasets.base import LETTERS, Adapter, Item
from evals.needles.content import READINGS
from evals.needles.media import Reading, librivox, resolve_media
from evals.needles.render import HEIGHT, WIDTH, Drawn, Look, Said, render
from perception.errors import ConfigError, MediaError

FORMAT = "longshot-needle-1"
VIDEO_NAME = "needle.mp4"
MANIFEST_NAME = "needle.json"

SEGMENT_SECONDS = 10  # the ingest's base segment; every needle fits inside one
EDGE_MARGIN = 1.0  # seconds kept clear at both edges of a needle's segment
NOTICE_SECONDS = 4.0
FPS = 10
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


@dataclass(frozen=True)
class SpeechNeedle:
    """A LibriVox clip, the span of it a question quotes, and three one-word variants of that span."""

    clip: str  # file id in transcription.txt; the audio is <clip>.wav
    phrase: str
    variants: tuple[str, ...]


# The quoted phrase of each LibriVox reading (evals.needles.content.READINGS, heard word for
# word by tiny.en), and three one-word variants of it.
SPEECH = tuple(SpeechNeedle(clip, phrase, tuple(variants)) for clip, (phrase, *variants) in READINGS.items())

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
    """A speech needle with its LibriVox reading, ready to place."""

    needle: SpeechNeedle
    reading: Reading

    @property
    def seconds(self) -> float:
        return self.reading.seconds


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
    the media folder, `evals.needles.media.resolve_media(media)`). A set already in `out_dir` is
    reused when it was built with the same parameters and its video is intact; otherwise it is rebuilt.
    """
    if not minutes > 0:
        raise ConfigError(f"minutes must be > 0, got {minutes}")
    notices = tuple(str(n).strip() for n in notices)
    if not notices or not all(notices) or len(set(notices)) != len(notices):
        raise ConfigError(f"notices must be distinct non-empty texts, got {notices!r}")
    for notice in notices:
        notice_variants(notice, random.Random(0))  # fails early for a notice with no possible distractor
    media_root = resolve_media(media)
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
        ("speech", clip.seconds, clip.reading.transcript, clip.needle.phrase, f"{clip.needle.clip}.wav") for clip in speech
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
            hint = "" if clips is not None else f" (expected in the media folder {media})"
            raise MediaError(f"footage clip {path} does not exist{hint}")
    return tuple(p.resolve() for p in paths)


def _load_speech(media: Path) -> tuple[_Clip, ...]:
    readings = {r.clip: r for r in librivox(media, tuple(s.clip for s in SPEECH))}
    clips = []
    for needle in SPEECH:
        reading = readings[needle.clip]
        if f" {needle.phrase} " not in f" {reading.transcript} ":
            raise MediaError(f"the transcript of {needle.clip} does not contain {needle.phrase!r}")
        clips.append(_Clip(needle, reading))
    return tuple(clips)


# --- rendering ------------------------------------------------------------------------------


def _render(
    out: Path, footage: Sequence[Path], speech: Sequence[_Clip], events: Sequence[NeedleEvent], duration: int, params: dict
) -> None:
    """Encode the video (notices centred, black on white), then write the manifest beside it (manifest last)."""
    if not FONT.is_file():
        raise MediaError(f"the notice font {FONT} is missing; install fonts-dejavu-core")
    out.mkdir(parents=True, exist_ok=True)
    for name in (MANIFEST_NAME, VIDEO_NAME):  # an old set with other parameters is not reusable
        (out / name).unlink(missing_ok=True)
    audio = {f"{clip.needle.clip}.wav": clip.reading.samples for clip in speech}
    drawn = [Drawn(e.text, e.start, e.end, _centred(e.text)) for e in events if e.kind == "text"]
    said = [Said(e.start, audio[e.source]) for e in events if e.kind == "speech"]
    render(out / VIDEO_NAME, footage, duration, FPS, drawn, said)
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


def _centred(text: str) -> Look:
    size = _font_size(text)
    left, top, right, bottom = ImageFont.truetype(str(FONT), size).getbbox(text)
    return Look(str(FONT), size, int(WIDTH - (right - left)) // 2, int(HEIGHT - (bottom - top)) // 2)


def _font_size(text: str) -> int:
    """The largest size up to MAX_FONT_SIZE at which the text and its box fit 90% of the width."""
    width = ImageFont.truetype(str(FONT), MAX_FONT_SIZE).getlength(text)
    return max(12, min(MAX_FONT_SIZE, int(MAX_FONT_SIZE * (0.9 * WIDTH - 32) / max(width, 1))))


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
