"""Temporal working memory: budgets, relevance plus diversity, coarse-to-fine refinement, time order, `until`.

The memories are real (a SQLite library, BM25 episodic search without a text embedder, a
frame store of tiny frames); frame vectors are made so that each 10 s shot's frames are
near-duplicates of each other and unlike every other shot's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from memory.episodic import EpisodicMemory, SegmentDraft
from memory.frames import FrameCache, FrameStore
from memory.store import Library
from memory.visual import VisualMemory
from memory.working import Budget, WorkingMemory, activity_moments
from tests.memory.catalogue import add_video

SECONDS = 1800  # a 30-minute video sampled at 1 fps
SCALES = (10.0, 60.0, 300.0)
DIM = 24


@dataclass
class Video:
    library: Library
    id: str
    episodic: EpisodicMemory
    visual: VisualMemory
    store: FrameStore
    vectors: np.ndarray

    def working(self, **options) -> WorkingMemory:
        return WorkingMemory(self.episodic, self.visual, lambda video: self.store, **options)


def make_video(home: Path, notices: dict[float, str], vectors: np.ndarray | None = None) -> Video:
    """Segments at three scales whose on-screen text is `notices` (base segment start -> text)."""
    library = Library(home)
    video = add_video(library, duration=SECONDS)
    episodic, visual = EpisodicMemory(library, None), VisualMemory(library)
    drafts = []
    for scale in SCALES:
        for start in np.arange(0, SECONDS, scale):
            shown = [text for at, text in notices.items() if start <= at < start + scale]
            caption = "A quiet street; cars pass." + (f' On screen: "{shown[0]}".' if shown else "")
            drafts.append(SegmentDraft(scale, float(start), float(start + scale), caption, "\n".join(shown)))
    if vectors is None:
        vectors = shot_vectors()
    times = np.arange(SECONDS, dtype=np.float64)
    with library.transaction() as conn:
        episodic.add(conn, video, drafts)
        visual.add(conn, video, list(range(SECONDS)), times.tolist(), vectors, "test-vectors")
    store = FrameStore(home / "frames", video, FrameCache(2**20), max_side=16, bundle_frames=64)
    store.append(np.zeros((SECONDS, 8, 8, 3), np.uint8), times)
    return Video(library, video, episodic, visual, store, vectors)


def shot_vectors(seed: int = 0) -> np.ndarray:
    """One random direction per 10 s shot, plus a little noise per frame."""
    rng = np.random.default_rng(seed)
    shots = rng.normal(size=(SECONDS // 10, DIM))
    vectors = np.repeat(shots, 10, axis=0) + 0.02 * rng.normal(size=(SECONDS, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def inside(pick, start: float, end: float) -> bool:
    return start <= pick.time < end


def test_picks_fit_the_budget_in_time_order_with_timestamps(home: Path) -> None:
    video = make_video(home, {305.0: "VAULT CODE 4172", 905.0: "VAULT CODE 4172"})
    working = video.working()
    picks = working.select_frames(video.id, "vault code 4172", [(0, SECONDS)], Budget(k=5))
    assert 1 <= len(picks) <= 5
    assert [p.time for p in picks] == sorted(p.time for p in picks)
    for pick in picks:
        assert pick.frame.video == video.id and pick.frame.time == pick.time == video.store.times[pick.frame.index]
        assert pick.segment is not None and pick.segment.scale == SCALES[0] and pick.start <= pick.time <= pick.end
    tokens = Budget(k=8, max_tokens=600, tokens_per_item=256)
    by_tokens = working.select_frames(video.id, "vault code", [(0, SECONDS)], tokens)
    assert len(by_tokens) == 2
    assert working.select_frames(video.id, "vault code", [(0, SECONDS)], Budget(k=0)) == []
    assert working.select_frames(video.id, "vault code", [(5000, 6000)]) == []


def test_near_duplicate_frames_are_not_both_chosen(home: Path) -> None:
    video = make_video(home, {305.0: "VAULT CODE 4172", 905.0: "VAULT CODE 4172"})
    picks = video.working().select_frames(video.id, "vault code 4172", [(0, SECONDS)], Budget(k=2))
    assert sorted(inside(p, 300, 310) for p in picks) == [False, True]
    assert sorted(inside(p, 900, 910) for p in picks) == [False, True]
    # relevance alone takes two frames of the same shot: diversity is what spreads them
    greedy = video.working(diversity=0.0).select_frames(video.id, "vault code 4172", [(0, SECONDS)], Budget(k=2))
    assert all(inside(p, 300, 310) for p in greedy)


def test_coarse_to_fine_homes_in_on_a_short_moment_in_a_long_span(home: Path) -> None:
    video = make_video(home, {1234.0: "MEETING ROOM 12 AT NOON"})
    picks = video.working().select_frames(video.id, "meeting room 12 at noon", [(0, SECONDS)], Budget(k=4))
    best = max(picks, key=lambda p: p.score)
    assert inside(best, 1230, 1240) and best.relevance == pytest.approx(1.0)
    # one round of uniform samples over the half hour never lands in those ten seconds
    coarse = video.working(rounds=1).select_frames(video.id, "meeting room 12 at noon", [(0, SECONDS)], Budget(k=4))
    assert not any(inside(p, 1230, 1240) for p in coarse)


def test_two_moments_in_one_span_both_survive_the_refinement(home: Path) -> None:
    video = make_video(home, {125.0: "GATE B7 CLOSED", 1675.0: "GATE B7 CLOSED"})
    picks = video.working().select_frames(video.id, "gate b7 closed", [(0, SECONDS)], Budget(k=3))
    assert any(inside(p, 120, 130) for p in picks) and any(inside(p, 1670, 1680) for p in picks)


def test_until_hides_every_later_frame_and_segment(home: Path) -> None:
    video = make_video(home, {1234.0: "MEETING ROOM 12 AT NOON"})
    working = video.working()
    for until in (1000.0, 1235.0):
        picks = working.select_frames(video.id, "meeting room 12 at noon", [(0, SECONDS)], Budget(k=6), until=until)
        assert picks and all(p.time <= until and p.end <= until and p.frame.time <= until for p in picks)
        assert all(p.relevance == 0.0 for p in picks), "the notice is not over by then, so nothing says it yet"
        segments = working.select_segments(video.id, "meeting room 12 at noon", [(0, SECONDS)], Budget(k=6), until=until)
        assert segments and all(s.end <= until for s in segments)
    after = working.select_frames(video.id, "meeting room 12 at noon", [(0, SECONDS)], Budget(k=6), until=1240.0)
    assert any(inside(p, 1230, 1240) and p.relevance == pytest.approx(1.0) for p in after)


def test_segments_are_chosen_by_relevance_within_the_spans_in_time_order(home: Path) -> None:
    video = make_video(home, {305.0: "VAULT CODE 4172", 905.0: "GATE B7 CLOSED", 1505.0: "VAULT CODE 4172"})
    working = video.working()
    picks = working.select_segments(video.id, "vault code 4172", [(0, 600), (1400, 1800)], Budget(k=3))
    assert len(picks) == 3 and [p.start for p in picks] == sorted(p.start for p in picks)
    assert {(p.start, p.end) for p in picks if p.score > 0} == {(300.0, 310.0), (1500.0, 1510.0)}
    assert all(p.end <= 600 or p.start >= 1400 for p in picks)
    assert all(p.segment.scale == SCALES[0] for p in picks)


@pytest.mark.slow
def test_an_image_text_model_takes_part_in_relevance() -> None:
    """Plumbing only (random CLIP weights): the frame whose embedding is the query's own is the one picked."""
    from tests.random_models import random_clip

    clip = random_clip()  # the smallest architecture: plumbing only
    query = "a red umbrella"
    target = clip.embed_text([query])[0]
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(SECONDS, clip.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[777] = target
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        video = make_video(Path(folder), {}, vectors)
        asked = []

        def text_to_image(text: str) -> np.ndarray:
            asked.append(text)
            return clip.embed_text([text])[0]

        working = video.working(text_to_image=text_to_image)
        picks = working.select_frames(video.id, query, [(700, 860)], Budget(k=3))
        blind = video.working().select_frames(video.id, query, [(700, 860)], Budget(k=3))
    assert asked == [query]
    best = max(picks, key=lambda p: p.score)
    assert best.frame.index == 777 and best.relevance == 0.0 and best.score == pytest.approx(0.5)
    assert all(p.score == 0.0 for p in blind)


def test_frames_committed_later_are_seen(home: Path) -> None:
    """Questions asked during ingest: the cached frame embeddings are read again once the store grows."""
    video = make_video(home, {})
    working = video.working()
    assert working.select_frames(video.id, "late notice", [(0, SECONDS + 20)], Budget(k=2))  # caches the embeddings
    times = np.arange(SECONDS, SECONDS + 20, dtype=np.float64)
    late = [
        SegmentDraft(10.0, SECONDS, SECONDS + 10, 'On screen: "LATE NOTICE".', "LATE NOTICE"),
        SegmentDraft(10.0, SECONDS + 10, SECONDS + 20),
    ]
    new_vectors = shot_vectors(seed=5)[:20]
    with video.library.transaction() as conn:
        video.episodic.add(conn, video.id, late)
        video.visual.add(conn, video.id, list(range(SECONDS, SECONDS + 20)), times.tolist(), new_vectors, "test-vectors")
    video.store.append(np.zeros((20, 8, 8, 3), np.uint8), times)
    picks = working.select_frames(video.id, "late notice", [(0, SECONDS + 20)], Budget(k=2))
    assert any(SECONDS <= p.time < SECONDS + 10 and p.relevance == pytest.approx(1.0) for p in picks)
    seen_times, vectors = working.frame_vectors(video.id, float(times[-1]), None)
    assert seen_times[-1] == times[-1] and np.allclose(vectors[-20:], new_vectors, atol=1e-6)
    early_times, _ = working.frame_vectors(video.id, float(times[-1]), until=100.0)
    assert early_times[-1] == 100.0


def test_activity_onsets_are_preferred_only_for_questions_about_movement(home: Path) -> None:
    """One segment's frames share its text; with a visit's onset among them, a question about someone coming
    in gets a frame at the onset or the middle, and a question about the notice gets no pull towards movement."""
    from memory.ingest.motion import motion_occurrences
    from memory.timeline import Timeline
    from perception.motion.records import Activity

    video = make_video(home, {600.0: "VISITORS SIGN IN AT THE DESK"}, vectors=np.ones((SECONDS, DIM), np.float32))
    timeline = Timeline(video.library, None)
    visit = Activity(start=603.0, end=609.0, bounds=(603.0, 609.0), open_start=False, open_end=False, pairs=6)
    with video.library.transaction() as conn:
        timeline.add(conn, video.id, motion_occurrences([visit]))
    moments = {round(t) for t in activity_moments(timeline, video.id, None)}

    def pick(query: str, timeline: Timeline | None) -> list[float]:
        working = WorkingMemory(video.episodic, video.visual, lambda _: video.store, timeline=timeline)
        return [p.time for p in working.select_frames(video.id, query, [(600, 610)], Budget(k=1))]

    assert set(pick("when does someone walk in at the desk", timeline)) <= moments
    assert not set(pick("when does someone walk in at the desk", None)) <= moments  # the pull is the onset's
    assert pick("visitors sign in at the desk", timeline) == pick("visitors sign in at the desk", None)


def test_an_activity_is_looked_at_at_its_onset_and_its_peak(home: Path) -> None:
    """A visit whose moving region was largest late in the run: the frames worth a look are its onset and that peak,
    not its middle; an older record without a peak falls back to the middle."""
    from memory.ingest.motion import motion_occurrences
    from memory.timeline import Timeline
    from perception.motion.records import Activity

    video = make_video(home, {600.0: "VISITORS SIGN IN AT THE DESK"}, vectors=np.ones((SECONDS, DIM), np.float32))
    timeline = Timeline(video.library, None)
    track = ((603.5, 0.2, 0.5, 0.1), (605.5, 0.4, 0.5, 0.2), (607.5, 0.6, 0.5, 0.5), (608.5, 0.8, 0.5, 0.2))
    late = Activity(
        start=603.0, end=609.0, bounds=(603.0, 609.0), open_start=False, open_end=False, pairs=4, peak_time=607.5, track=track
    )
    old = Activity(start=620.0, end=630.0, bounds=(620.0, 630.0), open_start=False, open_end=False, pairs=9)
    with video.library.transaction() as conn:
        timeline.add(conn, video.id, motion_occurrences([late, old]))

    assert activity_moments(timeline, video.id, None).tolist() == [603.5, 607.5, 620.5, 625.0]
    assert activity_moments(timeline, video.id, until=615.0).tolist() == [603.5, 607.5]
