"""Sketches worth making without a VLM, and answers read off what their tools returned.

Each use is a short fixed plan on one frame (or the question's image):
- reading, for questions about text: OCR the frame; where the text found is small, crop
  around the lines that best match the question (with their neighbours) and read again
  enlarged, which recovers words the first pass cut or missed;
- counting ("how many cars"), only where a detector exists: detect that class, then put
  numbered marks on each one, so the sketch shows what was counted.
Answers come from the tools' structured results (`SketchEvidence.data`), not from summaries.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.agent import AgentState
from app.answer import ABSTAIN_TEXT, LETTERS, Evidence
from app.questions import parse_question
from app.scoring import content_tokens, coverage, score_options, search_query, tokens
from app.sketching import IMAGE
from app.toolbox import Action
from perception.timefmt import format_time

# Words that say a question is about text, and that do not help pick which line answers it.
GENERIC_READING = frozenset(
    [
        "text",
        "texts",
        "written",
        "writing",
        "write",
        "read",
        "reads",
        "sign",
        "signs",
        "label",
        "labels",
        "printed",
        "print",
        "letters",
        "lettering",
        "displayed",
        "display",
        "visible",
        "image",
        "picture",
        "photo",
    ]
)
READING_TRIGGERS = GENERIC_READING | frozenset(
    ["screen", "code", "number", "title", "caption", "plate", "poster", "notice", "words", "word"]
)
LOOK_CLOSER = frozenset({"open", "choice", "said", "shown", "yes_no"})  # kinds a closer look at a frame can answer
LEGIBLE_PX = 24  # text lines this tall read well already: no zoom
MIN_ZOOM = 1.5  # a crop enlarging less than this is not worth a second read
ZOOM_TARGET_PX = 512  # the crop tool enlarges small regions to about this, at most 4x
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
_HOW_MANY = re.compile(r"\bhow many\s+([a-z]+(?:\s+[a-z]+){0,2})", re.I)
_AFTER_NOUN = frozenset(
    [
        "are",
        "is",
        "were",
        "was",
        "can",
        "do",
        "does",
        "did",
        "there",
        "in",
        "on",
        "at",
        "of",
        "appear",
        "appears",
        "visible",
        "shown",
    ]
)
_IRREGULAR = {
    "people": "person",
    "persons": "person",
    "men": "person",
    "women": "person",
    "children": "person",
    "kids": "person",
    "mice": "mouse",
    "knives": "knife",
    "sheep": "sheep",
    "skis": "skis",
}


@dataclass(frozen=True)
class _Sketched:
    """One sketch step on the planned frame: its tool, whether it worked, and what the tool returned."""

    tool: str
    ok: bool
    data: Mapping[str, Any]
    evidence: int | None  # its position in state.evidence


class OfflineSketching:
    """Plans the reading and counting sketches for the offline policies, and answers from them."""

    def __init__(self, can_detect: bool, abstain_below: float = 0.2):
        self.can_detect = can_detect
        self.abstain_below = abstain_below

    def next_action(self, state: AgentState, frame: int | str | None = None) -> Action | None:
        """The next sketch on `frame` (by default the frame of the best evidence), or None when done."""
        frame = _planned_frame(state) if frame is None else frame
        if frame is None:  # no evidence shows a frame: there is nothing to sketch on
            return None
        goal = self._goal(state, frame)
        if goal is None:
            return None
        done = _sketched(state, frame)
        if goal == "count":
            return _count_step(frame, counted_thing(state.question), done)
        return _read_step(frame, _question_words(state.question), done)

    def answer(self, state: AgentState, frame: int | str | None = None) -> Action | None:
        """An answer read off the sketches made on `frame`, or None when they do not answer the question."""
        frame = _planned_frame(state) if frame is None else frame
        if frame is None:  # nothing was or could be sketched
            return None
        goal = self._goal(state, frame)
        done = [s for s in _sketched(state, frame) if s.ok]
        if goal is None or not done:
            return None
        moment = _moment(state, done[-1])
        if goal == "count":
            return _count_answer(state, done, moment)
        if state.options and frame != IMAGE:
            return None  # a video's options are scored against all the evidence, sketches included
        return self._read_answer(state, done, moment)

    def _goal(self, state: AgentState, frame: int | str) -> str | None:
        if frame != IMAGE and parse_question(state.question, state.options).kind not in LOOK_CLOSER:
            return None
        if self.can_detect and counted_thing(state.question):
            return "count"
        if frame == IMAGE or is_about_text(state.question):
            return "read"
        return None

    def _read_answer(self, state: AgentState, done: Sequence[_Sketched], moment: str) -> Action | None:
        reads = [(order, s) for order, s in enumerate(done) if s.tool == "ocr"]
        lines = [
            (line["text"], float(line["score"]), order, s.evidence) for order, s in reads for line in s.data.get("lines", ())
        ]
        if not lines:
            return None
        if state.options:
            candidates = [Evidence("line", 0.0, 0.0, text, score) for text, score, _, _ in lines]
            scores = score_options(state.options, candidates)
            best = int(scores.argmax())
            if scores[best] <= 0:
                return None
            support = max(range(len(lines)), key=lambda i: coverage(state.options[best], lines[i][0]))
            return Action("answer", {"text": state.options[best], "choice": LETTERS[best], "evidence": [lines[support][3]]})
        words = _question_words(state.question)
        if not words:  # "what does the sign say?": all of the latest read
            last = reads[-1][1]
            text = " / ".join(line["text"] for line in last.data["lines"])
            return Action("answer", {"text": text + moment, "evidence": [last.evidence]})
        query = " ".join(sorted(words))
        text, _, _, evidence = max(lines, key=lambda line: (round(coverage(query, line[0]), 2), line[2], line[1]))
        if coverage(query, text) < self.abstain_below:
            return None
        return Action("answer", {"text": text + moment, "evidence": [evidence]})


class ImagePolicy:
    """Answers about one still image with no VLM: read its text (zooming where it is small) or count."""

    name = "offline"

    def __init__(self, sketching: OfflineSketching):
        self.sketching = sketching

    def next_action(self, state: AgentState) -> Action:
        return self.sketching.next_action(state, IMAGE) or self.force_answer(state)

    def force_answer(self, state: AgentState) -> Action:
        return self.sketching.answer(state, IMAGE) or Action("answer", {"text": ABSTAIN_TEXT})


def is_about_text(question: str) -> bool:
    return bool(set(tokens(question)) & READING_TRIGGERS)


def counted_noun(question: str) -> str | None:
    """What a "how many ..." question counts, as written: "how many red cars are there" -> "cars"."""
    found = _HOW_MANY.search(question)
    if not found:
        return None
    words = []
    for word in found.group(1).lower().split():
        if word in _AFTER_NOUN:
            break
        words.append(word)
    return words[-1] if words else None


def counted_thing(question: str) -> str | None:
    """The detector class a "how many ..." question counts: "how many red cars are there" -> "car"."""
    noun = counted_noun(question)
    return singular(noun) if noun else None


def singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "uses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def zoom_region(lines: Sequence[Mapping[str, Any]], words: set[str]) -> list[float] | None:
    """A box around the group of lines that best matches `words` (or holds the most text), when enlarging it helps.

    Lines are grouped with their neighbours (within two line heights across, one down), so
    a sign read as scattered fragments is cropped whole.
    """
    if not lines:
        return None
    groups = _groups([line["box"] for line in lines])
    query = " ".join(sorted(words))

    def rank(group: list[int]) -> tuple[float, int]:
        text = " ".join(lines[i]["text"] for i in group)
        return (coverage(query, text) if words else 0.0), len(text)

    group = max(groups, key=rank)
    boxes = [lines[i]["box"] for i in group]
    height = statistics.median(b[3] - b[1] for b in boxes)
    if height >= LEGIBLE_PX:
        return None
    x0, y0 = min(b[0] for b in boxes) - 2 * height, min(b[1] for b in boxes) - height
    x1, y1 = max(b[2] for b in boxes) + 2 * height, max(b[3] for b in boxes) + height
    x0, y0 = max(0.0, x0), max(0.0, y0)
    if min(4.0, ZOOM_TARGET_PX / max(x1 - x0, y1 - y0)) < MIN_ZOOM:
        return None
    return [round(v, 1) for v in (x0, y0, x1, y1)]


def _groups(boxes: Sequence[Sequence[float]]) -> list[list[int]]:
    """Connected groups of boxes, each grown by twice its height sideways and its height up and down."""
    grown = [(b[0] - 2 * (b[3] - b[1]), b[1] - (b[3] - b[1]), b[2] + 2 * (b[3] - b[1]), b[3] + (b[3] - b[1])) for b in boxes]
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(grown):
        for j in range(i):
            b = grown[j]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _question_words(question: str) -> set[str]:
    """The words of a question that pick the line answering it."""
    return content_tokens(search_query(question)) - READING_TRIGGERS


def _planned_frame(state: AgentState) -> int | str | None:
    """The frame sketched so far, else a frame of the evidence that best covers the question.

    Among equals, the frame nearest the middle of its evidence's span: what a segment
    describes is more likely on screen in its middle than at its edges.
    """
    for step in state.steps:
        if step.action == "sketch" and step.args.get("frame") is not None:
            return step.args["frame"]
    query = search_query(state.question)
    shown = [(e, f) for e in state.evidence if e.kind != "sketch" for f in e.frames]
    if not shown:
        return None
    _, frame = max(
        shown,
        key=lambda pair: (
            round(coverage(query, pair[0].text), 2),
            pair[0].kind == "frame",
            pair[0].score,
            -abs(pair[1].time - (pair[0].start + pair[0].end) / 2),
        ),
    )
    return frame.index


def _sketched(state: AgentState, frame: int | str) -> list[_Sketched]:
    """Every sketch step on `frame` so far, failed ones included (so a failing plan is not retried)."""
    position = {e.key: i for i, e in enumerate(state.evidence)}
    done = []
    for step, hits in zip(state.steps, state.hits):
        if step.action != "sketch" or step.args.get("frame") != frame:
            continue
        data = getattr(hits[0], "data", {}) if hits else {}
        done.append(_Sketched(str(step.args.get("tool")), step.error is None, data, position.get(hits[0].key) if hits else None))
    return done


def _read_step(frame: int | str, words: set[str], done: Sequence[_Sketched]) -> Action | None:
    if not done:
        return _sketch(frame, "ocr", {}, restart=True)
    first = done[0]
    if len(done) == 1 and first.ok:
        region = zoom_region(first.data.get("lines", ()), words)
        return _sketch(frame, "crop", {"box": region}, restart=True) if region else None
    if len(done) == 2 and done[1].ok:
        return _sketch(frame, "ocr", {})
    return None


def _count_step(frame: int | str, thing: str | None, done: Sequence[_Sketched]) -> Action | None:
    if not done:
        return _sketch(frame, "detect", {"labels": [thing]}, restart=True)
    detections = done[0].data.get("detections", ())
    if len(done) == 1 and done[0].ok and detections:
        centres = [[round((d["box"][0] + d["box"][2]) / 2, 1), round((d["box"][1] + d["box"][3]) / 2, 1)] for d in detections]
        return _sketch(frame, "mark", {"points": centres})
    return None


def _count_answer(state: AgentState, done: Sequence[_Sketched], moment: str) -> Action | None:
    detected = next((s for s in done if s.tool == "detect"), None)
    if detected is None:
        return None
    count = len(detected.data.get("detections", ()))
    word = counted_thing(state.question) if count == 1 else counted_noun(state.question)
    evidence = [done[-1].evidence]
    if not state.options:
        return Action("answer", {"text": f"{count} {word}{moment}", "evidence": evidence})
    spelled = {str(count)} | ({NUMBER_WORDS[count]} if count < len(NUMBER_WORDS) else set())
    matching = [i for i, option in enumerate(state.options) if spelled & set(tokens(option))]
    if len(matching) != 1:
        return None
    return Action("answer", {"text": state.options[matching[0]], "choice": LETTERS[matching[0]], "evidence": evidence})


def _moment(state: AgentState, sketch: _Sketched) -> str:
    """ " (at 0:24)" for a sketch of a video frame; nothing for an image."""
    if sketch.evidence is None or not state.evidence[sketch.evidence].frames:
        return ""
    return f" (at {format_time(state.evidence[sketch.evidence].start)})"


def _sketch(frame: int | str, tool: str, args: dict[str, Any], restart: bool = False) -> Action:
    return Action("sketch", {"frame": frame, "tool": tool, "args": args, "restart": restart})
