"""The questions of one motion-set video, phrased as people ask of security, lab, sports and how-to footage.

Six types (bucket `type`), in both formats where a reply can be scored by content:

- when: when someone first comes into view, when the n-th visitor arrives, when there is
  movement for the last time (a span, IoU 0.3, or a choice of spans);
- count: how many times someone comes into view, how many before a moment, how often the camera moves;
- duration: how long the longest visit lasts, how long the visitor who arrives at a moment stays;
- at_time: is anyone there at a moment, what is happening at a moment (someone in view, nothing, the camera);
- direction: which way a visitor crosses the room (visits cross to the right, visits played backwards to the left);
- camera: which way the camera moves at a moment, when it makes a move it makes once, whether it moves at all.

Truths come from the script alone (evals/needles/motion_scene.py). Moments asked about lie well inside
what they ask about (AT_MARGIN), so 1 fps sampling cannot miss them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from evals.datasets.base import LETTERS, Item
from evals.grading import Count, Duration, Span, Truth, YesNo
from evals.needles.motion_scene import MotionEvent, MotionScenario
from evals.needles.questions import numbered_drafts
from perception.timefmt import format_span, format_time

TYPES = ("when", "count", "duration", "at_time", "direction", "camera")
AT_MARGIN = 3.0  # seconds inside an event (or a still stretch) a moment asked about lies
SETTINGS = ("On this security footage, ", "In this lab recording, ", "In the clip, ", "", "")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
CAMERA_WORDS = {
    "pan left": "It pans left",
    "pan right": "It pans right",
    "tilt up": "It tilts up",
    "tilt down": "It tilts down",
    "zoom in": "It zooms in",
    "zoom out": "It zooms out",
}
STILL_CAMERA = "The camera does not move"
HAPPENING = ("Someone is in view", "Nothing moves: the scene is still", "The camera is moving")
CROSSING = {"right": "From left to right", "left": "From right to left"}
CROSSING_RIVALS = ("Toward the camera", "Away from the camera")

Draft = Callable[[str], Item]


def motion_questions(scenario: MotionScenario, video: Path, per_type: int, prefix: str) -> list[Item]:
    """Up to `per_type` questions of each type about one video, ids starting with `prefix`."""
    rng = random.Random(f"motion-questions:{scenario.seed}")
    return numbered_drafts(_Asker(scenario, video, rng), TYPES, rng, per_type, prefix, lambda drafts, n: drafts[:n])


class _Asker:
    def __init__(self, scenario: MotionScenario, video: Path, rng: random.Random):
        self.s = scenario
        self.video = video
        self.rng = rng
        self.people = scenario.people
        self.moves = scenario.camera

    # --- the types ----------------------------------------------------------------------

    def _when(self) -> Iterator[Draft]:
        first = self.people[0]
        yield self._span_question(
            self._pick(
                "When does someone first come into view?",
                "When does the first person walk in?",
                "When does anyone first show up?",
            ),
            first,
            choice=False,
        )
        for n, person in enumerate(self.people[1:4], start=1):
            yield self._span_question(self._set(f"When does the {ORDINALS[n]} visitor arrive?"), person, choice=n % 2 == 1)
        last = self.s.events[-1]
        yield self._span_question(
            self._pick("When is there movement for the last time?", "When does anything last move?"), last, choice=True
        )

    def _count(self) -> Iterator[Draft]:
        people = len(self.people)
        asked = self._pick(
            "How many times does someone come into view?", "How many visits are there?", "How many times does a person walk in?"
        )
        yield self._free(self._set(asked), Count(people), "count")
        yield self._choice(
            self._pick("How many people come in over the whole video?", "How many times does anyone enter?"),
            [_times(v) for v in _near_counts(people, self.rng)],
            "count",
            _times(people),
        )
        for k in range(1, len(self.people)):
            moment = (self.people[k - 1].end + self.people[k].start) / 2
            yield self._free(f"How many people have come in by {format_time(moment)}?", Count(k), "count")
        if self.moves:
            yield self._free(
                self._pick("How many times does the camera move?", "How often does the camera move?"),
                Count(len(self.moves)),
                "count",
            )

    def _duration(self) -> Iterator[Draft]:
        longest = max(self.people, key=lambda e: e.end - e.start)
        seconds = longest.end - longest.start
        yield self._free(
            self._pick("How long is the longest visit?", "How long does the longest visit last?"), _duration(seconds), "duration"
        )
        for n, person in enumerate(self.people):
            seconds = person.end - person.start
            asked = self._pick(
                "How long does the person who comes in at about {t} stay?",
                "How long is the visitor who arrives around {t} in view?",
                "For how long is someone in view after {t}?",
            ).format(t=format_time(round(person.start)))
            if n % 2:
                options = [_about(seconds), *(_about(v) for v in _far(seconds, self.rng))]
                yield self._choice(asked, options, "duration", _about(seconds))
            else:
                yield self._free(asked, _duration(seconds), "duration")

    def _at_time(self) -> Iterator[Draft]:
        for n, person in enumerate(self.people):
            if person.end - person.start > 2 * AT_MARGIN:
                moment = format_time(round(self.rng.uniform(person.start + AT_MARGIN, person.end - AT_MARGIN)))
                if n % 2:
                    yield self._free(
                        self._pick("Is anyone there at {t}?", "Is someone in view at {t}?").format(t=moment),
                        YesNo(True),
                        "at_time",
                    )
                else:
                    yield self._choice(f"What is happening at about {moment}?", list(HAPPENING), "at_time", HAPPENING[0])
        for n, (start, end) in enumerate(self._still_stretches()):
            moment = format_time(round(self.rng.uniform(start + AT_MARGIN, end - AT_MARGIN)))
            if n % 2:
                yield self._choice(f"What is going on at {moment}?", list(HAPPENING), "at_time", HAPPENING[1])
            else:
                yield self._free(
                    self._pick("Is anyone there at {t}?", "Does anything move at {t}?").format(t=moment), YesNo(False), "at_time"
                )

    def _direction(self) -> Iterator[Draft]:
        for n, person in enumerate(self.people):
            moment = format_time(round(person.start))
            if n % 2:
                asked = self._pick(
                    "Which way does the person who comes in at about {t} cross the room?",
                    "In which direction does the visitor at {t} walk across the frame?",
                ).format(t=moment)
                yield self._choice(asked, [*CROSSING.values(), *CROSSING_RIVALS], "direction", CROSSING[person.motion])
            else:
                side = self.rng.choice(("right", "left"))
                asked = f"Does the person who appears around {moment} walk across to the {side}?"
                yield self._free(asked, YesNo(person.motion == side), "direction")

    def _camera(self) -> Iterator[Draft]:
        for move in self.moves:
            moment = format_time(round((move.start + move.end) / 2))
            rivals = self.rng.sample([w for m, w in CAMERA_WORDS.items() if m != move.motion], 2)
            asked = self._pick("Which way does the camera move at about {t}?", "What does the camera do around {t}?").format(
                t=moment
            )
            yield self._choice(asked, [CAMERA_WORDS[move.motion], *rivals, STILL_CAMERA], "camera", CAMERA_WORDS[move.motion])
            if sum(m.motion == move.motion for m in self.moves) == 1:  # "when" has one answer
                span = (move.start, move.end)
                yield self._free(f"When does the camera {move.motion}?", Span(*span), "camera", span)
        for start, end in self._still_stretches()[:2]:
            moment = format_time(round(self.rng.uniform(start + AT_MARGIN, end - AT_MARGIN)))
            yield self._free(f"Does the camera move at {moment}?", YesNo(False), "camera")

    # --- helpers ------------------------------------------------------------------------

    def _still_stretches(self) -> list[tuple[float, float]]:
        """Stretches with nothing happening, long enough to ask about their middle."""
        edges = [0.0, *(x for e in self.s.events for x in (e.clip[0], e.clip[1])), self.s.duration]
        stretches = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
        return [(a, b) for a, b in stretches if b - a > 2 * AT_MARGIN + 2]

    def _span_question(self, asked: str, event: MotionEvent, choice: bool) -> Draft:
        span = (event.start, event.end)
        if not choice:
            return self._free(asked, Span(*span), "when", span)
        others = [e for e in self.s.events if e is not event]
        options = [format_span(*span), *(format_span(e.start, e.end) for e in self.rng.sample(others, min(3, len(others))))]
        return self._choice(asked, options, "when", options[0], span)

    def _setting(self) -> str:
        return self.rng.choice(SETTINGS)

    def _set(self, question: str) -> str:
        """The question, maybe with where the footage is from in front."""
        setting = self._setting()
        return setting + question[0].lower() + question[1:] if setting else question

    def _pick(self, *phrasings: str) -> str:
        return self.rng.choice(phrasings)

    def _choice(
        self, question: str, options: Sequence[str], kind: str, right: str, span: tuple[float, float] | None = None
    ) -> Draft:
        shuffled = list(dict.fromkeys(options))
        self.rng.shuffle(shuffled)
        fields = {"options": tuple(shuffled), "answer": LETTERS[shuffled.index(right)], "answer_span": span}
        return self._draft(question, kind, "choice", **fields)

    def _free(self, question: str, truth: Truth, kind: str, span: tuple[float, float] | None = None) -> Draft:
        return self._draft(question, kind, "free", truth=truth, answer_span=span)

    def _draft(self, question: str, kind: str, fmt: str, **fields) -> Draft:
        buckets = {"type": kind, "format": fmt, "modality": "motion"}
        return lambda item_id: Item(id=item_id, question=question, video=self.video, buckets=buckets, **fields)


def _times(count: int) -> str:
    return {0: "Never", 1: "Once", 2: "Twice"}.get(count, f"{count} times")


def _near_counts(value: int, rng: random.Random) -> list[int]:
    return sorted({value, *rng.sample([v for v in range(value + 4) if v != value], 3)})


def _duration(seconds: float) -> Duration:
    return Duration(round(seconds, 1), max(2.0, 0.2 * seconds))


def _about(seconds: float) -> str:
    return f"About {round(seconds)} seconds"


def _far(seconds: float, rng: random.Random) -> list[float]:
    """Three durations clearly apart from `seconds` and from each other."""
    tolerance = max(2.0, 0.2 * seconds)
    found: list[float] = []
    for factor in rng.sample((0.3, 0.5, 1.8, 2.6, 3.5), 5):
        value = max(1.0, seconds * factor)
        if all(abs(value - v) > 2 * tolerance for v in (seconds, *found)):
            found.append(value)
    return found[:3]
