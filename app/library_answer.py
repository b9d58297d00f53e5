"""Questions across the whole library: find the candidate videos, run the agent on the best within a
budget, and answer naming the video or videos and the moments.

Candidates come from library-wide search (memory.library_search): each video's best moment
ranks it. The agent runs on the best `max_videos` whose best moment scores at least half the
top one's, one after another, until `budget_s` has gone (the first always runs). Each video's
answer is weighed by its support: the mean of its candidate score and its best evidence
score, zero when it abstained. The answer is the best-supported one, and for an open
question also every other within SHARE_KEPT of it ("what did the two talks say about the
budget?" names both), each with its video and moment.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from app.answer import ABSTAIN_TEXT, Answer, Step
from memory.library_search import Moment
from perception.timefmt import format_span

SEARCH_K = 50  # moments searched to find the candidate videos
SHARE_KEPT = 0.75  # other answers within this share of the best one's support are named too
NOT_FOUND = "Not found in the library."


@dataclass(frozen=True)
class VideoAnswer:
    """The agent's answer about one candidate video, and how well it is supported."""

    video: str
    name: str
    answer: Answer
    support: float

    def line(self) -> str:
        span = f" ({format_span(*self.answer.span)})" if self.answer.span else ""
        return f"{self.name}{span}: {self.answer.text}"


@dataclass(frozen=True)
class LibraryStep:
    """One step of the agent on one candidate video, as it happens."""

    video: str
    name: str
    step: Step


@dataclass(frozen=True)
class LibraryAnswer:
    """An answer across the library: its text, the videos it rests on (best first), every video tried,
    and the moments the search found."""

    question: str
    text: str
    choice: str | None
    answers: tuple[VideoAnswer, ...]
    tried: tuple[VideoAnswer, ...]
    moments: tuple[Moment, ...]
    seconds: float

    @property
    def abstained(self) -> bool:
        return not self.answers

    @property
    def video(self) -> str | None:
        """The video of the best answer (None when no video answered)."""
        return self.answers[0].video if self.answers else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    video: str
    name: str
    score: float
    moments: tuple[Moment, ...]


def candidates(moments: Sequence[Moment]) -> list[Candidate]:
    """Videos ranked by their best moment, each with its moments in rank order."""
    by_video: dict[str, list[Moment]] = {}
    for moment in moments:
        by_video.setdefault(moment.video, []).append(moment)
    ranked = [Candidate(v, found[0].name, found[0].score, tuple(found)) for v, found in by_video.items()]
    return sorted(ranked, key=lambda c: -c.score)


def support(answer: Answer, candidate_score: float) -> float:
    """How well an answer about one video is supported: 0 when it abstained, else the mean of the
    video's candidate score and the answer's best evidence score."""
    if answer.abstained or answer.text.strip() == ABSTAIN_TEXT:
        return 0.0
    best = max((item.score for item in answer.evidence), default=0.0)
    return (candidate_score + min(best, 1.0)) / 2


def ask_library_stream(
    longshot: Any,
    question: str,
    options: Sequence[str] | None = None,
    videos: Sequence[str] | None = None,
    max_videos: int | None = None,
    budget_s: float | None = None,
) -> Iterator[LibraryStep | LibraryAnswer]:
    """Yield each step of the agent on each candidate video, then the LibraryAnswer."""
    began = time.perf_counter()
    agent = longshot.config.agent
    max_videos = agent.library_videos if max_videos is None else max_videos
    budget_s = agent.library_seconds if budget_s is None else budget_s
    moments = tuple(longshot.search(question, videos=videos, k=SEARCH_K))
    ranked = candidates(moments)
    chosen = [c for c in ranked if c.score >= 0.5 * ranked[0].score][:max_videos] if ranked else []
    tried: list[VideoAnswer] = []
    for candidate in chosen:
        if tried and time.perf_counter() - began > budget_s:
            break
        answer = None
        for item in longshot.ask_stream(candidate.video, question, options):
            if isinstance(item, Answer):
                answer = item
            else:
                yield LibraryStep(candidate.video, candidate.name, item)
        assert answer is not None
        tried.append(VideoAnswer(candidate.video, candidate.name, answer, support(answer, candidate.score)))
    yield _combined(question, bool(options), tried, moments, time.perf_counter() - began)


def _combined(
    question: str, multiple_choice: bool, tried: list[VideoAnswer], moments: tuple[Moment, ...], seconds: float
) -> LibraryAnswer:
    answered = sorted((a for a in tried if a.support > 0), key=lambda a: -a.support)
    if not answered:
        return LibraryAnswer(question, NOT_FOUND, None, (), tuple(tried), moments, seconds)
    best = answered[0]
    kept = [best] if multiple_choice else [a for a in answered if a.support >= SHARE_KEPT * best.support]
    text = kept[0].line() if len(kept) == 1 else "\n".join(a.line() for a in kept)
    return LibraryAnswer(question, text, best.answer.choice, tuple(kept), tuple(tried), moments, seconds)
