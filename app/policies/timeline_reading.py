"""Reading the timeline's answers back out of the agent's state: which occurrences an action found, which of
them say what was asked, and the whole passage of speech around an utterance.

The temporal answerers (`app.policies.temporal`) plan timeline actions and read their results here, so
what "found" means (a strong match, runs of one text joined, a quotation across utterances) is decided
in one place.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.agent import AgentState, identity
from app.answer import Evidence
from app.scoring import STOPWORDS, content_tokens, coverage, phrase_match, sentences, tokens, word_credit
from app.toolbox import Action
from memory.timeline import MODALITIES, same_text

SPEECH = ("speech", "subtitle")
BACKGROUND = ("caption", "scene", "activity", "camera", "stillness")  # never what a question is about (motion: its own kind)
QUOTED_MATCH = 0.8  # the least share of a quotation's words an occurrence must say, in order, to say it
SOUNDS_ALIKE = 0.75  # letters shared (difflib ratio) by a quoted word and what speech recognition wrote in its place
TOPIC_MATCH = 0.6  # the least share of a topic's words an occurrence must name to be about it
# seconds: readings of one text this close are one showing (OCR at 1 fps behind a change gate loses frames of a steady notice)
RUN_GAP = 10.0
PASSAGE_GAP = 1.5  # seconds: utterances this close together are one passage of speech
CONTEXT = 20.0  # seconds read either side of an utterance to find the rest of its passage
_ALNUM = re.compile(r"[^\W_]+")


def modalities(modality: str) -> list[str]:
    """The timeline modalities a question's modality covers ("any": everything but the background)."""
    if modality == "speech":
        return list(SPEECH)
    if modality == "text":
        return ["text"]
    return [m for m in MODALITIES if m not in BACKGROUND]


def key(action: Action) -> tuple:
    return (action.name, tuple(sorted((k, str(v)) for k, v in action.args.items())))


def results(state: AgentState, action: Action) -> tuple[Evidence, ...] | None:
    """What an earlier `action` returned (repeats included); None while it has not run (or failed)."""
    wanted = key(action)
    for step, hits in state.actions(action.name):
        if key(Action(step.action, step.args)) == wanted:
            return hits
    return None


def evidence_indices(state: AgentState, items: Sequence[Evidence]) -> list[int]:
    """The positions of `items` in the state's evidence (each item was stored once, under its identity)."""
    where = {identity(e): i for i, e in enumerate(state.evidence)}
    return [where[identity(e)] for e in items if identity(e) in where]


def codes(text: str) -> set[str]:
    """The words of a text that hold a digit ("B7", "X6", "EA4", "9"): what one misread letter does not excuse."""
    return {w.casefold() for w in _ALNUM.findall(text) if any(c.isdigit() for c in w)}


def says(target: str, quoted: bool, text: str) -> float:
    """How much of `target` a text says: in order for a quotation, any order for a topic's words; nothing
    when it names other codes or numbers than the target's ("STAFF CODE E6-EA4" is not "STAFF CODE X6-EA4")."""
    if not target.strip():
        return 1.0
    if not codes(target) <= codes(text):
        return 0.0
    if quoted:
        return quotation_match(target, text)
    return max(phrase_match(target, text), coverage(target, text)) if content_tokens(target) else phrase_match(target, text)


def quotation_match(quotation: str, text: str) -> float:
    """How much of a quotation one sentence of `text` says word for word, in order (0-1): its share of the
    quotation's words, each counting alike.

    A quotation is a claim about exact words: "moved from" is not said by "moved to", so a sentence that
    leaves out a small word of it (from, to, before), or says another in its place, does not say it. Speech
    recognition mishears words ("foot all" for "football", "turn" for "to"), so a word may be missing where
    what stands in its place looks like it (`_misheard`), but not where another word does ("closed" for "open").
    """
    words = tokens(quotation)
    if not words:
        return 0.0
    best = 0.0
    for sentence in sentences(text):
        found = tokens(sentence)
        said = _said_in_order(words, found)
        if all(i in said or _misheard(words, i, found, said) for i in range(len(words))):
            best = max(best, sum(credit for _, credit in said.values()) / len(words))
    return best


def _said_in_order(words: list[str], found: list[str]) -> dict[int, tuple[int, float]]:
    """Which of `words` are said in `found` in order (a longest common subsequence by credit): word position ->
    (position in `found`, credit)."""
    table = [[0.0] * (len(found) + 1) for _ in range(len(words) + 1)]
    for i, word in enumerate(words, 1):
        for j, other in enumerate(found, 1):
            credit = word_credit(word, other)
            table[i][j] = max(table[i - 1][j], table[i][j - 1], table[i - 1][j - 1] + credit if credit else 0.0)
    said: dict[int, tuple[int, float]] = {}
    i, j = len(words), len(found)
    while i and j:
        credit = word_credit(words[i - 1], found[j - 1])
        if credit and table[i][j] == table[i - 1][j - 1] + credit:
            said[i - 1] = (j - 1, credit)
            i, j = i - 1, j - 1
        elif table[i][j] == table[i - 1][j]:
            i -= 1
        else:
            j -= 1
    return said


def _misheard(words: list[str], i: int, found: list[str], said: dict[int, tuple[int, float]]) -> bool:
    """Whether the unsaid word `words[i]` was likely misheard rather than not said: something stands in its
    place between the said words either side of it, and for a content word it looks like it ("foot all" for
    "football"); for a small word it holds no small word ("turn the airport" for "to the airport"), since
    another small word in its place ("moved to" for "moved from") is another claim, not a slip."""
    before = max((said[k][0] for k in said if k < i), default=-1)
    after = min((said[k][0] for k in said if k > i), default=len(found))
    heard = found[before + 1 : after]
    if not heard:
        return False
    if words[i] in STOPWORDS:
        return not any(w in STOPWORDS for w in heard)
    return difflib.SequenceMatcher(None, words[i], "".join(heard), autojunk=False).ratio() >= SOUNDS_ALIKE


def strong(target: str, quoted: bool, hits: Sequence[Evidence]) -> list[Evidence]:
    """The hits that say the target (see `says`), in time order."""
    bar = QUOTED_MATCH if quoted else TOPIC_MATCH
    return sorted((h for h in hits if says(target, quoted, h.text) >= bar), key=lambda h: (h.start, h.end))


def best(target: str, quoted: bool, hits: Sequence[Evidence]) -> Evidence | None:
    """The hit that says most of the target, the search's own score breaking ties, the earliest after that."""
    if not hits:
        return None
    return max(hits, key=lambda h: (round(says(target, quoted, h.text), 2), h.score, -h.start))


@dataclass(frozen=True)
class Showing:
    """One showing (or saying) of a thing: the occurrences that make it up, joined."""

    start: float
    end: float
    text: str
    parts: tuple[Evidence, ...]


def showings(hits: Sequence[Evidence]) -> list[Showing]:
    """Occurrences of one text joined where they nearly touch (a reading that flickered), in time order."""
    joined: list[Showing] = []
    for hit in sorted(hits, key=lambda h: (h.start, h.end)):
        last = joined[-1] if joined else None
        if last and hit.start - last.end <= RUN_GAP and same_text(last.text, hit.text):
            joined[-1] = replace(last, end=max(last.end, hit.end), parts=(*last.parts, hit))
        else:
            joined.append(Showing(hit.start, hit.end, hit.text, (hit,)))
    return joined


def showings_of_each(items: Sequence[Evidence]) -> list[Showing]:
    """Showings of each text (see `showings`), over occurrences of many texts."""
    by_text: list[list[Evidence]] = []
    for item in sorted(items, key=lambda e: e.start):
        group = next((g for g in by_text if same_text(g[0].text, item.text)), None)
        if group is None:
            by_text.append([item])
        else:
            group.append(item)
    return sorted((s for group in by_text for s in showings(group)), key=lambda s: s.start)


def passages(items: Sequence[Evidence]) -> list[Showing]:
    """Utterances joined into passages where one runs on into the next (within PASSAGE_GAP), in time order."""
    joined: list[Showing] = []
    for item in sorted(items, key=lambda e: e.start):
        last = joined[-1] if joined else None
        if last and item.start - last.end <= PASSAGE_GAP:
            joined[-1] = Showing(last.start, max(last.end, item.end), f"{last.text} {item.text}", (*last.parts, item))
        else:
            joined.append(Showing(item.start, item.end, item.text, (item,)))
    return joined


def pick(items: Sequence[Showing], nth: int | None) -> Showing | None:
    """The n-th (1 first, -1 last, 2 second...) of items in time order; None when there are not that many."""
    if not items:
        return None
    if nth is None:
        return items[0]
    index = nth - 1 if nth > 0 else nth
    return items[index] if -len(items) <= index < len(items) else None


def around(occurrence: Evidence) -> Action:
    """The speech near an utterance, from which its whole passage is read."""
    return Action(
        "timeline",
        {"start": max(0.0, occurrence.start - CONTEXT), "end": occurrence.end + CONTEXT, "modalities": list(SPEECH)},
    )


def passage(target: str, quoted: bool, occurrence: Evidence, nearby: Sequence[Evidence], whole: bool = False) -> Showing:
    """The utterances around `occurrence` that say the target best (`whole`: all that run on from it): a
    quotation cut across utterances is found whole, and an answer quotes all that was said, not one clause."""
    speech = sorted({identity(e): e for e in (*nearby, occurrence) if e.modality in SPEECH}.values(), key=lambda e: e.start)
    here = next(i for i, e in enumerate(speech) if identity(e) == identity(occurrence))
    low = high = here
    while low > 0 and speech[low].start - speech[low - 1].end <= PASSAGE_GAP:
        low -= 1
    while high + 1 < len(speech) and speech[high + 1].start - speech[high].end <= PASSAGE_GAP:
        high += 1
    run = speech[low : high + 1]
    if whole:
        return Showing(run[0].start, run[-1].end, " ".join(e.text for e in run), tuple(run))
    options = [(i, j) for i in range(len(run)) for j in range(i, len(run)) if i <= here - low <= j or not target]
    scored = [(says(target, quoted, " ".join(e.text for e in run[i : j + 1])), i - j, i, j) for i, j in options]
    _, _, i, j = max(scored)
    parts = tuple(run[i : j + 1])
    return Showing(parts[0].start, parts[-1].end, " ".join(e.text for e in parts), parts)
