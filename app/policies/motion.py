"""Questions about motion, answered from the timeline's activity, camera and stillness occurrences.

"When does someone first come into view?", "how many times does a person walk in?", "how long
does the visitor at 5:00 stay?", "is anyone there at 12:30?", "which way does the person cross
the room?", "does the camera zoom in or out?": people ask these of security, lab, sports and
how-to footage, and no vision model is needed to answer them (perception.motion).

`read_motion` decides whether a question is about motion and what it asks (a table of cues,
and perception.motion's MOTION_VERBS for the verbs); `answer_motion` reads the answer off the
occurrences (app.policies.motion_reading: visits, camera moves), leading with the answer. With
no motion evidence for what is asked it says so, choosing an option that says so if there is one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.policies.motion_reading import CameraMove, Timed, Visit, camera_moves, happening_at, nearest, visits
from app.questions import TemporalQuestion, format_count, format_duration, parse_question
from app.questions.options import OptionMeaning
from perception.motion import MotionMeaning, motion_meanings, motion_words, place
from perception.timefmt import format_span, format_time

MOTION_MODALITIES = ("activity", "camera", "stillness")
_VOCABULARY_WORDS = (
    "someone somebody anyone anybody person people visitor visitors visit visits intruder guest customer player man woman "
    "camera view into in out there here anything something nothing movement motion activity happening going on whole over "
    "way direction across cross crosses room frame scene shot footage clip video recording security lab stay stays longest "
    "walk walks walking come comes came coming arrive arrives arrived enter enters entered leave leaves appear appears "
    "show shows up left right still moving move moves first last second third fourth fifth next time times ever "
    "side sides where go goes went head heads exit exits from top bottom centre center"
)
MOTION_VOCABULARY = frozenset(_VOCABULARY_WORDS.split())
NEAR = 5.0  # seconds a visit or camera move may start off the moment a question names ("the visitor at about 5:00")
_PERSON = re.compile(
    r"\b(?:someone|somebody|anyone|anybody|person|people|visitors?|visits?|intruders?|guests?|customers?|players?|man|woman)\b",
    re.I,
)
_CAMERA = re.compile(r"\bcamera\b", re.I)
_ANYTHING = re.compile(r"\b(?:anything|movement|motion|moves?|moving|activity|happening|going\s+on)\b", re.I)
_COUNT = re.compile(r"\bhow\s+(?:many|often)\b|\bnumber\s+of\b", re.I)
_DURATION = re.compile(r"\bhow\s+long\b|\bfor\s+how\s+(?:long|much\s+time)\b|\bhow\s+much\s+time\b", re.I)
_WHEN = re.compile(r"\bwhen\b|\bat\s+what\s+(?:time|point|moment)\b", re.I)
_WAY = re.compile(r"\bwhich\s+way\b|\b(?:what|which)\s+direction\b|\bcross(?:es|ing)?\b|\bacross\b", re.I)
_WHERE = re.compile(r"\bwhich\s+side\b|\bwhere\b", re.I)  # asks a way only of where someone comes in or goes
_CROSS = re.compile(r"\bcross(?:es|ing)?\b|\bacross\b", re.I)
_GOING = re.compile(r"\b(?:go|goes|went|going|head|heads|headed|heading)\b", re.I)
_WHO = re.compile(r"\b(?:who|that)\b.*?\b(?:at|around|about|after)\s+(?:about\s+)?\d[\d:.]*", re.I)  # "who comes in at 5:04"
_POLAR = re.compile(r"^\s*(?:is|are|does|do|did|was|were|has|have|can)\b", re.I)
_ALTERNATIVES = re.compile(r"\bor\b", re.I)
_NONE = re.compile(r"\b(?:not|never|no|nothing|none|still)\b|n't\b", re.I)
_LONGEST = re.compile(r"\blongest\b", re.I)
_SIDE = re.compile(r"\b(?:to|toward|towards|from|at|on)\s+the\s+(left|right|top|bottom)\b", re.I)
_SIDE_WORD = re.compile(r"\b(left|right|top|bottom|centre|center|middle)\b", re.I)
_OPTION_WORDS = (  # what an option says is going on
    ("person", re.compile(r"\b(?:someone|somebody|person|people|visitor|in\s+view)\b", re.I)),
    ("camera", re.compile(r"\bcamera\b", re.I)),
    ("still", re.compile(r"\b(?:nothing|still|empty|no\s+one|nobody)\b", re.I)),
)
_CROSSING = (("right", re.compile(r"\bleft\s+to\s+(?:the\s+)?right\b|\brightwards?\b", re.I)),
             ("left", re.compile(r"\bright\s+to\s+(?:the\s+)?left\b|\bleftwards?\b", re.I)))  # fmt: skip


@dataclass(frozen=True)
class MotionAsk:
    """What a motion question asks: `ask` is count, duration, when, at (what goes on at a moment), way (which way a
    visitor crosses) or camera (which way the camera moves); `subject` person, camera or any."""

    ask: str
    subject: str
    question: TemporalQuestion
    meanings: tuple[MotionMeaning, ...]
    moment: float | None  # the moment the question names, if any
    polar: bool
    aspect: str = "crossing"  # for "way": the crossing as a whole, or where the visitor comes in ("entry") or goes ("exit")


@dataclass(frozen=True)
class MotionReply:
    text: str
    choice: int | None = None
    span: tuple[float, float] | None = None
    used: tuple[tuple[float, float], ...] = ()  # the spans of motion the reply rests on


def read_motion(question: str, options: Sequence[str] = (), duration: float | None = None) -> MotionAsk | None:
    """What a question asks about motion; None when it is not about motion."""
    meanings = motion_meanings(question)
    camera = bool(_CAMERA.search(question)) or any(m.kind == "camera" for m in meanings)
    person = bool(_PERSON.search(question))
    if not (camera or person or _ANYTHING.search(question) or meanings):
        return None
    parsed = parse_question(question, options)
    if parsed.quoted or _said_or_shown(question) or not _only_motion(parsed.target, question):
        return None  # about something said or shown, or something motion cannot tell apart
    subject = "camera" if camera else "person" if person or any(m.kind in ("start", "end") for m in meanings) else "any"
    moment = _moment(parsed, duration)
    aspect, polar = _aspect(question), _polar(question)
    if _COUNT.search(question):
        ask = "count"
    elif _DURATION.search(question):
        ask = "duration"
    elif _WHEN.search(question) and moment is None:
        ask = "when"
    elif subject == "person" and (_WAY.search(question) or (aspect != "crossing" and _where_or_side(question))):
        ask = "way"
    elif camera and moment is not None and not polar:
        ask = "camera"
    elif moment is not None:
        ask = "at"
    else:
        return None
    return MotionAsk(ask, subject, parsed, meanings, moment, polar, aspect)


def answer_motion(ask: MotionAsk, items: Sequence[Timed], duration: float | None = None) -> MotionReply:
    """The answer to a motion question from the video's motion occurrences (`items`)."""
    seen, moves = visits(items), camera_moves(items)
    wanted = _camera_meaning(ask)
    if wanted is not None:
        moves = [m for m in moves if wanted.value is None or m.motion.startswith(wanted.value)]
    return _ANSWERS[ask.ask](ask, items, seen, moves, duration)


def _count(ask: MotionAsk, items, seen: list[Visit], moves: list[CameraMove], duration) -> MotionReply:
    spans: Sequence[Visit | CameraMove] = moves if ask.subject == "camera" else seen
    window = ask.question.span(duration)
    if window is not None:
        spans = [s for s in spans if window[0] <= s.start <= window[1]]
    text = format_count([s.start for s in spans])
    counted = [i for i, o in enumerate(ask.question.options) if o.count == len(spans) or (not spans and _says_never(o))]
    return MotionReply(text[0].upper() + text[1:], counted[0] if counted else None, used=_spans(spans))


def _duration(ask: MotionAsk, items, seen: list[Visit], moves: list[CameraMove], duration) -> MotionReply:
    spans: Sequence[Visit | CameraMove] = moves if ask.subject == "camera" else seen
    if _LONGEST.search(ask.question.question):
        found = max(spans, key=lambda s: s.end - s.start, default=None)
    elif ask.moment is not None:
        after = [s for s in spans if s.end >= ask.moment - NEAR]
        found = nearest(after, ask.moment, NEAR) or (after[0] if after and "after" in ask.question.question.lower() else None)
    else:
        found = spans[0] if spans else None
    if found is None:
        return _nothing(ask, "no one comes into view then" if ask.subject != "camera" else "the camera does not move then")
    seconds = found.end - found.start
    choice = _closest(ask.question.options, lambda o: None if o.seconds is None else abs(o.seconds - seconds))
    return MotionReply(format_duration(found.start, found.end).capitalize(), choice, (found.start, found.end), _spans([found]))


def _when(ask: MotionAsk, items, seen: list[Visit], moves: list[CameraMove], duration) -> MotionReply:
    spans: list[Visit | CameraMove]
    if ask.subject == "camera":
        spans = list(moves)
    elif ask.subject == "person":
        spans = list(seen)
    else:
        spans = sorted([*seen, *moves], key=lambda s: s.end if ask.question.nth == -1 else s.start)
    index = _index(ask)
    if not -len(spans) <= index < len(spans):
        return _nothing(ask, "nothing of the kind moves in this video")
    found = spans[index]
    span = (found.start, found.end)
    choice = _closest(ask.question.options, lambda o: None if (w := _window(o)) is None else -_iou(w, span))
    return MotionReply(f"At {format_span(*span)}", choice, span, _spans([found]))


def _at(ask: MotionAsk, items, seen: list[Visit], moves: list[CameraMove], duration) -> MotionReply:
    assert ask.moment is not None
    going_on = happening_at(items, ask.moment)
    words = {"person": "someone is in view", "camera": "the camera is moving", "still": "nothing moves"}
    said = f"At {format_time(ask.moment)}, {words[going_on]}."
    options = ask.question.options
    if options:
        choice = next((i for i, o in enumerate(options) if _option_happening(o.text) == going_on), None)
        return MotionReply(said, choice)
    if ask.polar:
        yes = going_on == "person" if ask.subject == "person" else going_on != "still"
        if ask.subject == "camera":
            yes = going_on == "camera"
        return MotionReply(f"{'Yes' if yes else 'No'}: {said[0].lower()}{said[1:]}")
    return MotionReply(said)


def _way(ask: MotionAsk, items, seen: list[Visit], moves: list[CameraMove], duration) -> MotionReply:
    index = _index(ask)
    if ask.moment is not None:
        visit = nearest(seen, ask.moment, NEAR)
    else:
        visit = seen[index] if -len(seen) <= index < len(seen) else None
    if not isinstance(visit, Visit):
        return _nothing(ask, "no one comes into view then")
    if ask.aspect != "crossing":
        return _side(ask, visit)
    way = visit.crossing
    if way is None:
        return MotionReply(f"The visitor at {format_span(visit.start, visit.end)} does not clearly cross the frame.")
    said = f"From {'left to right' if way == 'right' else 'right to left'}, {format_span(visit.start, visit.end)}"
    if ask.question.options:
        choice = next((i for i, o in enumerate(ask.question.options) if _option_crossing(o.text) == way), None)
        return MotionReply(said, choice, (visit.start, visit.end), _spans([visit]))
    side = _SIDE.search(ask.question.question)
    if ask.polar and side:
        yes = side.group(1).lower() == way
        return MotionReply(f"{'Yes' if yes else 'No'}: {said[0].lower()}{said[1:]}", None, None, _spans([visit]))
    return MotionReply(said, None, (visit.start, visit.end), _spans([visit]))


def _side(ask: MotionAsk, visit: Visit) -> MotionReply:
    """Where the visitor comes in (`entry`) or goes out (`exit`): the part of the frame they were first or last
    seen whole in, whatever way they walked between (in at the left, a stop at the table, out at the left)."""
    point = visit.entry if ask.aspect == "entry" else visit.exit
    if point is None:
        return MotionReply(f"The visitor at {format_span(visit.start, visit.end)} is not seen whole.")
    at = place(point[1], point[2])
    verb, seen = ("Comes in", "first") if ask.aspect == "entry" else ("Leaves", "last")
    said = f"{verb} at the {at} (seen there {seen} at {format_time(point[0])}), {format_span(visit.start, visit.end)}"
    used = _spans([visit])
    if ask.question.options:
        choice = next((i for i, o in enumerate(ask.question.options) if _names_place(o.text, at)), None)
        return MotionReply(said, choice, (visit.start, visit.end), used)
    side = _SIDE.search(ask.question.question)
    if ask.polar and side:
        yes = _names_place(side.group(0), at)
        return MotionReply(f"{'Yes' if yes else 'No'}: {said[0].lower()}{said[1:]}", None, None, used)
    return MotionReply(said, None, (visit.start, visit.end), used)


def _camera(ask: MotionAsk, items, seen: list[Visit], moves: list[CameraMove], duration) -> MotionReply:
    assert ask.moment is not None
    move = nearest(camera_moves(items), ask.moment, NEAR)
    if not isinstance(move, CameraMove):
        still = next((i for i, o in enumerate(ask.question.options) if _NONE.search(o.text)), None)
        return MotionReply(f"The camera does not move at {format_time(ask.moment)}.", still)
    said = f"The camera {move.motion.replace(' ', 's ', 1)}, {format_span(move.start, move.end)}"
    choice = next((i for i, o in enumerate(ask.question.options) if _option_move(o.text) == move.motion), None)
    return MotionReply(said, choice, (move.start, move.end), _spans([move]))


_ANSWERS = {"count": _count, "duration": _duration, "when": _when, "at": _at, "way": _way, "camera": _camera}


def _moment(parsed: TemporalQuestion, duration: float | None) -> float | None:
    """The moment a question names: the middle of its window as said ("about 0:14" is 0:14, though its window
    is clipped at the start), or the window's start for "after 1:03"; None when it names none."""
    window = parsed.window
    if window is None or parsed.span(duration) is None:
        return None
    start, end = window.start.at(duration), window.end.at(duration)
    if start is None or end is None:
        return None
    return start if "after" in window.phrase.lower() else (start + end) / 2


def _polar(question: str) -> bool:
    """A yes/no question: it starts with a verb and offers no alternatives ("does it pan left or right?" is not)."""
    return bool(_POLAR.search(question)) and not _ALTERNATIVES.search(question)


def _index(ask: MotionAsk) -> int:
    """The list index of the one a question names ("the second visitor": 1, "the last": -1; the first by default)."""
    nth = ask.question.nth or 1
    return nth - 1 if nth > 0 else nth


def _where_or_side(question: str) -> bool:
    return bool(_WHERE.search(question) or _SIDE.search(question))


def _aspect(question: str) -> str:
    """What a question about a visitor's way asks: "crossing" (which way they cross), "exit" (where they go or
    leave) or "entry" (where they come in). A clause naming the visitor ("the person who comes in at 5:04")
    is not what is asked."""
    asked = _WHO.sub(" ", question)
    if _CROSS.search(asked):
        return "crossing"
    kinds = {m.kind for m in motion_meanings(asked)}
    if "end" in kinds or _GOING.search(asked):
        return "exit"
    return "entry" if "start" in kinds else "crossing"


def _names_place(text: str, at: str) -> bool:
    """Whether `text` ("From the left", "to the right", "Bottom") names a part of the frame `at` ("bottom left") lies in."""
    words = {w.lower().replace("center", "centre").replace("middle", "centre") for w in _SIDE_WORD.findall(text)}
    return bool(words) and words <= set(at.split())


def _said_or_shown(question: str) -> bool:
    """Whether a question names speech or on-screen text, its motion phrases aside ("show up" shows nothing)."""
    masked = question
    for word in motion_words(question):
        masked = masked[: word.at] + " " * len(word.words) + masked[word.at + len(word.words) :]
    return parse_question(masked).modality != "any"


def _only_motion(target: str, question: str) -> bool:
    """Whether the words a question asks about are all words of motion, people, the camera and the scene:
    "the visitor" is anyone who comes, "the fire alarm" is not something motion can tell."""
    taken = " ".join(w.words for w in motion_words(question)).lower().split()
    return all(w.lower() in MOTION_VOCABULARY or w.lower() in taken for w in target.split())


def _nothing(ask: MotionAsk, what: str) -> MotionReply:
    absent = ask.question.absent_option
    if absent is None:
        absent = next((i for i, o in enumerate(ask.question.options) if _NONE.search(o.text)), None)
    return MotionReply(f"Not found in this video: {what}.", absent)


def _camera_meaning(ask: MotionAsk) -> MotionMeaning | None:
    return next((m for m in ask.meanings if m.kind == "camera"), None)


def _spans(spans: Sequence[Visit | CameraMove]) -> tuple[tuple[float, float], ...]:
    return tuple((s.start, s.end) for s in spans)


def _window(option: OptionMeaning) -> tuple[float, float] | None:
    return option.window.resolve(None) if option.window else None


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    overlap = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return overlap / union if union > 0 else float(a == b)


def _closest(options: Sequence[OptionMeaning], distance) -> int | None:
    scored = [(d, i) for i, o in enumerate(options) if (d := distance(o)) is not None]
    return min(scored)[1] if scored else None


def _says_never(option: OptionMeaning) -> bool:
    return option.absent or bool(re.search(r"\b(?:never|none|no\s+one|nobody|zero)\b", option.text, re.I))


def _option_happening(text: str) -> str | None:
    return next((what for what, pattern in _OPTION_WORDS if pattern.search(text)), None)


def _option_crossing(text: str) -> str | None:
    return next((way for way, pattern in _CROSSING if pattern.search(text)), None)


def _option_move(text: str) -> str | None:
    if _NONE.search(text):
        return None
    return next((m.value for m in motion_meanings(text) if m.kind == "camera"), None)
