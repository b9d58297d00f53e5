"""The words of motion questions, and what each means in the motion observations.

A policy asks "when is the cup picked up?" or "does the camera zoom?"; the table says which
observations answer it: an activity whose path goes up, a camera run that zooms. Verbs are
listed once, in their base form; their inflections ("picks", "picked", "picking", "fell") and
a few words between a verb and its particle ("picks the red cup up") are matched for them.

"left" is both a direction and the past of "leave": it means leaving only after have/has/had
or before "the" ("left the room"); it is a place in the frame, neither, in "the lower left",
"on the left", "the left side"; and a direction otherwise. "right" is a direction only after a verb of motion, never in "right
after".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from perception.motion.records import Activity, CameraMotion, Observation, Stillness

KINDS = ("start", "end", "direction", "depth", "speed_trend", "camera", "stillness", "activity")


@dataclass(frozen=True)
class MotionMeaning:
    """What a motion word asks for. `kind`: "start" (something appears: the start of an
    activity), "end" (it leaves: the end), "direction" (up/down/left/right), "depth"
    (toward/away from the camera), "speed_trend" ("speeds up"/"slows down"), "camera" (a
    CAMERA_MOTIONS label, or "pan"/"tilt"/"zoom" for either way), "stillness", or "activity"
    (any motion). `value` narrows it; None accepts any."""

    kind: str
    value: str | None = None

    def matches(self, observation: Observation) -> bool:
        """Whether `observation` shows this meaning."""
        if self.kind == "stillness":
            return isinstance(observation, Stillness)
        if self.kind == "camera":
            return isinstance(observation, CameraMotion) and (self.value is None or observation.motion.startswith(self.value))
        if not isinstance(observation, Activity):
            return False
        if self.kind == "direction":
            return observation.direction == self.value or any(leg == self.value for leg, _ in observation.legs)
        if self.kind == "depth":
            return observation.depth == self.value
        if self.kind == "speed_trend":
            return observation.speed_trend == self.value
        return True


START, END, ACTIVITY, STILL = (MotionMeaning(k) for k in ("start", "end", "activity", "stillness"))
UP, DOWN, LEFT, RIGHT = (MotionMeaning("direction", d) for d in ("up", "down", "left", "right"))
TOWARD, AWAY = MotionMeaning("depth", "toward"), MotionMeaning("depth", "away")
FASTER, SLOWER = MotionMeaning("speed_trend", "speeds up"), MotionMeaning("speed_trend", "slows down")


def _camera(value: str | None) -> MotionMeaning:
    return MotionMeaning("camera", value)


# Phrases in base form. A phrase's first word is a verb (inflected when matched), unless the
# phrase is marked "=" (matched as written) or "~" (a regular expression); later words may have
# up to three words before them ("picks the red cup up"). Earlier phrases win a stretch of text.
MOTION_VERBS: dict[str, MotionMeaning] = {
    # the camera (first, so "the camera pans left" is not also "left")
    "pan left": _camera("pan left"),
    "pan right": _camera("pan right"),
    "pan": _camera("pan"),
    "tilt up": _camera("tilt up"),
    "tilt down": _camera("tilt down"),
    "tilt": _camera("tilt"),
    "zoom in": _camera("zoom in"),
    "zoom out": _camera("zoom out"),
    "zoom": _camera("zoom"),
    r"~\bcamera\s+(?:\w+\s+)?(?:shakes?|shook|shaking|shaken|jitters?|jittering|wobbles?|wobbling)\b": _camera("shake"),
    "=shaky": _camera("shake"),
    "=handheld": _camera("shake"),
    # coming and going
    "come into view": START,
    "come into frame": START,
    "come in": START,
    "walk in": START,
    "show up": START,
    "turn up": START,
    "pop up": START,
    "appear": START,
    "enter": START,
    "arrive": START,
    "emerge": START,
    "go out of view": END,
    "walk out": END,
    "move away from": AWAY,
    "go away from": AWAY,
    "go away": END,
    "=left the": END,
    "leave": END,
    "exit": END,
    "depart": END,
    "disappear": END,
    "vanish": END,
    # up and down
    "pick up": UP,
    "lift": UP,
    "raise": UP,
    "rise": UP,
    "climb": UP,
    "go up": UP,
    "move up": UP,
    "=upward": UP,
    "=upwards": UP,
    "put down": DOWN,
    "set down": DOWN,
    "drop": DOWN,
    r"~\blower(?:s|ed|ing)?\s+(?:the|a|an|his|her|their|its|it|them|one)\b": DOWN,
    "fall": DOWN,
    "sink": DOWN,
    "descend": DOWN,
    "go down": DOWN,
    "move down": DOWN,
    "=downward": DOWN,
    "=downwards": DOWN,
    # sideways, and toward or away from the camera
    "=to the left": LEFT,
    "=leftward": LEFT,
    "=leftwards": LEFT,
    "move left": LEFT,
    "go left": LEFT,
    "=to the right": RIGHT,
    "=rightward": RIGHT,
    "=rightwards": RIGHT,
    "move right": RIGHT,
    "go right": RIGHT,
    "come closer": TOWARD,
    "come toward": TOWARD,
    "come towards": TOWARD,
    "approach": TOWARD,
    "pull": TOWARD,
    "move away": AWAY,
    "recede": AWAY,
    "push": AWAY,
    # speed
    "speed up": FASTER,
    "accelerate": FASTER,
    "=faster": FASTER,
    "slow down": SLOWER,
    "decelerate": SLOWER,
    "=slower": SLOWER,
    # still or moving
    r"~\b(?:stands?|stood|standing|stays?|stayed|staying|keeps?|kept|remains?|remained|sits?|sat|holds?|held)\s+still\b": STILL,
    r"~\bstill(?=\s*(?:[?.,;!]|$|\band\b|\bfor\b|\bfrom\b|\bbetween\b|\buntil\b))": STILL,
    "=motionless": STILL,
    r"~\bnothing\s+(?:\w+\s+)?(?:happens?|happened|happening|moves?|moved|moving|going on)\b": STILL,
    "=no movement": STILL,
    "=no motion": STILL,
    "=no activity": STILL,
    "=idle": STILL,
    "move": ACTIVITY,
    "=movement": ACTIVITY,
    "=motion": ACTIVITY,
    "=activity": ACTIVITY,
    "happen": ACTIVITY,
}

_IRREGULAR = {
    "come": ["came"],
    "go": ["went", "gone", "goes"],
    "fall": ["fell", "fallen"],
    "rise": ["rose", "risen"],
    "sink": ["sank", "sunk"],
    "leave": ["leaves", "leaving"],  # never "left": see the module's note
    "put": ["put"],
    "set": ["set"],
    "speed": ["sped"],
    "show": ["shown"],
    "drop": ["dropped", "dropping"],
    "pan": ["panned", "panning"],
    "shake": ["shook", "shaken"],
}
_PARTICLE_GAP = r"(?:\s+\w+){0,3}?"


def _forms(verb: str) -> list[str]:
    if verb == "leave":
        return ["leave", *_IRREGULAR["leave"]]
    stem = verb[:-1] if verb.endswith("e") else verb
    forms = {verb, verb + "s", verb + "es", stem + "ed", verb + "d", stem + "ing", *_IRREGULAR.get(verb, [])}
    if verb.endswith("y"):
        forms |= {verb[:-1] + "ies", verb[:-1] + "ied"}
    return sorted(forms, key=len, reverse=True)


def _pattern(phrase: str) -> str:
    if phrase.startswith("~"):
        return phrase[1:]
    literal = phrase.startswith("=")
    words = phrase.lstrip("=").split()
    if literal:
        return r"\b" + r"\s+".join(re.escape(w) for w in words) + r"\b"
    head = "(?:" + "|".join(re.escape(f) for f in _forms(words[0])) + ")"
    rest = "".join(_PARTICLE_GAP + r"\s+" + re.escape(w) for w in words[1:])
    return r"\b" + head + rest + r"\b"


_TABLE = [(re.compile(_pattern(phrase)), meaning) for phrase, meaning in MOTION_VERBS.items()]
_MOVING_BEFORE = re.compile(r"\b(?:move|moves|moved|moving|go|goes|went|going|turn|turns|turned|head|heads|headed)\s+$")
_PLACE_BEFORE = re.compile(r"\b(?:lower|upper|top|bottom|far|(?:on|in|at)\s+the)\s+$")
_PLACE_AFTER = re.compile(r"\s+(?:hand|side|corner|edge|half|part|of)\b")
_LEFT_AS_LEAVING = re.compile(r"\b(?:has|have|had|having)\s+(?:\w+\s+){0,2}?left\b")


@dataclass(frozen=True)
class MotionWord:
    """A motion phrase found in a question: where it starts, the words matched, their meaning."""

    at: int
    words: str
    meaning: MotionMeaning


def motion_words(question: str) -> tuple[MotionWord, ...]:
    """The motion phrases of `question`, in order, each span of text used once (the table's
    earlier and longer phrases first, so "the camera pans left" is a pan and not "left")."""
    text = question.lower()
    taken = [False] * len(text)
    found = []
    for pattern, meaning in _TABLE:
        for match in pattern.finditer(text):
            if any(taken[match.start() : match.end()]):
                continue
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
            found.append(MotionWord(match.start(), match.group(0), meaning))
    for match in _LEFT_AS_LEAVING.finditer(text):
        at = match.end() - len("left")
        if not taken[at]:
            taken[at : match.end()] = [True] * len("left")
            found.append(MotionWord(at, "left", END))
    for match in re.finditer(r"\bleft\b", text):
        place = _PLACE_BEFORE.search(text[: match.start()]) or _PLACE_AFTER.match(text[match.end() :])
        if not taken[match.start()] and not place:
            found.append(MotionWord(match.start(), "left", LEFT))
    for match in re.finditer(r"\bright\b", text):
        if not taken[match.start()] and _MOVING_BEFORE.search(text[: match.start()]):
            found.append(MotionWord(match.start(), "right", RIGHT))
    return tuple(sorted(found, key=lambda w: w.at))


def motion_meanings(question: str) -> tuple[MotionMeaning, ...]:
    """What the motion words of `question` ask for, in order, without repeats."""
    return tuple(dict.fromkeys(w.meaning for w in motion_words(question)))
