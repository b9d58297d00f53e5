"""The event timeline: occurrences stored at their own times, joined across batches, read by time and by meaning."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from memory.episodic import EpisodicMemory, SegmentDraft
from memory.store import SCHEMA_VERSION, Library
from memory.timeline import MATCH_RATIO, OccurrenceDraft, Timeline, same_text
from tests.memory.catalogue import add_video, sentence_embedder


def draft(modality: str, start: float, end: float, text: str, **data) -> OccurrenceDraft:
    return OccurrenceDraft(modality, start, end, text, data)


# A minute of a station: notices shown, repeated and misread, things said, a scene change.
STATION = [
    draft("text", 3.5, 9.5, "GATE B7 CLOSED", box=[0.1, 0.4, 0.9, 0.6]),
    draft("speech", 4.21, 7.9, "The northern platform will close at nine fifteen tonight.", words=[[4.21, 4.4, "The"]]),
    draft("scene", 12.0, 12.0, "scene change"),
    draft("text", 14.5, 21.5, "VAULT CODE 4172"),
    draft("text", 22.5, 27.5, "GATE B7 CL0SED"),  # the same notice, misread
    draft("speech", 23.02, 26.4, "Please collect your luggage from carousel number four."),
    draft("text", 31.5, 33.5, "GATE B8 CLOSED"),  # another gate
    draft("subtitle", 35.0, 38.0, "[music playing]"),
    draft("text", 40.5, 58.5, "GATE B7 CLOSED"),
]


@pytest.fixture
def lexical(home: Path) -> tuple[Timeline, str]:
    """A timeline without a text embedder: BM25 only, which needs no model."""
    library = Library(home)
    return Timeline(library, None), add_video(library)


def commit(timeline: Timeline, video: str, drafts) -> list:
    with timeline.library.transaction() as conn:
        return timeline.add(conn, video, drafts)


def test_occurrences_come_back_in_time_order_overlapping_the_asked_range(lexical) -> None:
    timeline, video = lexical
    stored = commit(timeline, video, STATION)
    assert [o.text for o in stored] == [d.text for d in STATION] and len({o.id for o in stored}) == len(STATION)
    assert stored[0].data == {"box": [0.1, 0.4, 0.9, 0.6]} and stored[0].video == video and stored[0].duration == 6.0
    assert [o.start for o in timeline.between(video, 0, 60)] == sorted(d.start for d in STATION)
    assert [o.text for o in timeline.between(video, 9.5, 12.0)] == ["GATE B7 CLOSED", "scene change"]  # both ends count
    assert [o.text for o in timeline.between(video, 20, 24, modalities={"speech"})] == [STATION[5].text]
    assert [o.modality for o in timeline.at(video, 25.0)] == ["text", "speech"]
    assert timeline.between(video, 59, 100) == [] and timeline.between("ffffffffffffffff", 0, 60) == []


def test_until_shows_what_had_been_perceived_by_then(lexical) -> None:
    timeline, video = lexical
    words = [[30.0, 30.4, "Doors"], [30.5, 30.9, "are"], [31.0, 31.6, "closing."]]
    commit(timeline, video, [*STATION[:2], draft("speech", 30.0, 31.6, "Doors are closing.", words=words)])
    seen = timeline.between(video, 0, 60, until=6.0)
    assert [(o.start, o.end) for o in seen] == [(3.5, 6.0), (4.21, 6.0)]  # started by then, clipped there
    cut = timeline.between(video, 30, 31, until=30.7)[0]
    assert (cut.text, cut.end, cut.data["words"]) == ("Doors are", 30.7, words[:2])
    assert timeline.search(video, "closing", until=20.0) == []


def test_a_run_that_goes_on_in_the_next_batch_is_extended_not_repeated(lexical) -> None:
    timeline, video = lexical
    first = commit(timeline, video, [draft("text", 12.5, 30.0, "GATE B7 CLOSED"), draft("text", 20.5, 30.0, "EXIT")])
    second = commit(
        timeline,
        video,
        [
            draft("text", 30.0, 41.5, "GATE B7 CL0SED"),  # the same notice read a little differently: the same run
            draft("text", 30.0, 33.5, "EXIT 2"),  # another number: another text
            draft("speech", 30.0, 32.0, "EXIT"),  # another modality
            draft("text", 44.5, 50.5, "GATE B7 CLOSED"),  # shown again after a gap: a new occurrence
            draft("text", 50.5, 52.5, "GATE B7 CLOSED"),  # ...which the same batch continues
        ],
    )
    assert second[0].id == first[0].id and (second[0].start, second[0].end, second[0].text) == (12.5, 41.5, "GATE B7 CLOSED")
    assert second[1].id != first[1].id and second[2].id not in (first[0].id, first[1].id)
    assert second[3].id == second[4].id and (second[4].start, second[4].end) == (44.5, 52.5)
    texts = [(o.modality, o.start, o.end, o.text) for o in timeline.between(video, 0, 60)]
    assert texts == [
        ("text", 12.5, 41.5, "GATE B7 CLOSED"),
        ("text", 20.5, 30.0, "EXIT"),
        ("text", 30.0, 33.5, "EXIT 2"),
        ("speech", 30.0, 32.0, "EXIT"),
        ("text", 44.5, 52.5, "GATE B7 CLOSED"),
    ]


def test_batches_committed_by_a_resumed_process_give_the_same_rows(home: Path) -> None:
    batches = [
        [*STATION[:4], draft("text", 21.5, 30.0, "VAULT CODE 4172")],
        [draft("text", 30.0, 32.5, "VAULT CODE 4172"), *STATION[4:]],
    ]

    def rows(library: Library) -> list[tuple]:
        return (
            library.connect()
            .execute('SELECT id, modality, start, "end", text, data, segment FROM occurrences ORDER BY id')
            .fetchall()
        )

    straight = Library(home / "straight")
    timeline, video = Timeline(straight, None), add_video(straight)
    for batch in batches:
        commit(timeline, video, batch)
    resumed = Library(home / "resumed")
    video = add_video(resumed)
    commit(Timeline(resumed, None), video, batches[0])
    commit(Timeline(Library(home / "resumed"), None), video, batches[1])  # a new process after a crash
    assert [tuple(r) for r in rows(resumed)] == [tuple(r) for r in rows(straight)]
    assert len(rows(straight)) == len(STATION)  # the vault code's run was joined across the batches


def test_each_occurrence_links_the_base_segment_it_starts_in(lexical) -> None:
    timeline, video = lexical
    episodic = EpisodicMemory(timeline.library, None)
    assert commit(timeline, video, STATION[:1])[0].segment is None  # no segments yet
    with timeline.library.transaction() as conn:
        base = episodic.add(conn, video, [SegmentDraft(10.0, t, t + 10.0) for t in (0.0, 10.0, 20.0)])
        episodic.add(conn, video, [SegmentDraft(30.0, 0.0, 30.0)])
        stored = timeline.add(conn, video, [draft("scene", 10.0, 10.0, "scene change"), draft("text", 14.5, 32.0, "EXIT")])
    assert [o.segment for o in stored] == [base[1].id, base[1].id]
    timeline.library.forget(video)
    assert timeline.library.connect().execute("SELECT COUNT(*) FROM occurrences").fetchone()[0] == 0


def test_lexical_search_filters_by_modality_and_time(lexical) -> None:
    timeline, video = lexical
    commit(timeline, video, STATION)
    hits = timeline.search(video, "what was the vault code?", k=3)
    assert hits[0].occurrence.text == "VAULT CODE 4172" and hits[0].lexical == 1.0
    assert all(h.occurrence.modality == "speech" for h in timeline.search(video, "gate closed", modalities=["speech"], k=9))
    after = timeline.search(video, "gate closed", after=30.0, k=9)
    assert [h.occurrence.start for h in after if h.score > 0] and all(h.occurrence.start >= 30.0 for h in after)
    before = timeline.search(video, "gate closed", before=27.5, k=9)
    assert before and all(h.occurrence.end <= 27.5 for h in before)
    assert [h.occurrence.text for h in timeline.search(video, "gate", k=9, before=9.5)] == ["GATE B7 CLOSED"]


def test_matching_finds_every_showing_of_one_notice_misread_or_not_and_no_other(lexical) -> None:
    timeline, video = lexical
    commit(timeline, video, STATION)
    shown = timeline.matching(video, "GATE B7 CLOSED", modalities={"text"})
    assert [(h.occurrence.start, h.occurrence.end) for h in shown] == [(3.5, 9.5), (22.5, 27.5), (40.5, 58.5)]
    assert [h.occurrence.start for h in timeline.matching(video, "GATE B7 CLOSED", after=10.0)] == [22.5, 40.5]
    assert [h.occurrence.start for h in timeline.matching(video, "GATE B7 CLOSED", until=30.0)] == [3.5, 22.5]
    assert [h.occurrence.text for h in timeline.matching(video, "4172")] == ["VAULT CODE 4172"]
    assert timeline.matching(video, "zebra crossing") == [] and timeline.matching(video, "GATE B9 CLOSED") == []


def test_readers_see_each_commit_and_nothing_uncommitted(lexical) -> None:
    timeline, video = lexical
    reader = Timeline(timeline.library, None)  # e.g. the web app, while ingest runs
    commit(timeline, video, STATION[:3])
    assert reader.matching(video, "vault code") == []
    counted: list[int] = []
    written, checked = threading.Event(), threading.Event()

    def read_in_another_thread() -> None:
        written.wait()
        counted.append(len(reader.matching(video, "vault code")))
        checked.set()

    thread = threading.Thread(target=read_in_another_thread)
    thread.start()
    with timeline.library.transaction() as conn:
        timeline.add(conn, video, STATION[3:])
        assert len(timeline.matching(video, "vault code")) == 1  # the writer sees its own batch
        written.set()
        checked.wait(10)
    thread.join()
    assert counted == [0]
    assert [h.occurrence.start for h in reader.matching(video, "vault code")] == [14.5]


def test_same_text_forgives_a_misread_letter_but_not_another_number() -> None:
    assert same_text("GATE B7 CLOSED", "gate b7 closed.")
    assert same_text("GATE B7 CLOSED", "GATE B7 CL0SED") and same_text("MEETING ROOM 12 AT NOON", "MEETING R00M 12 AT NOON")
    assert not same_text("GATE B7 CLOSED", "GATE B8 CLOSED") and not same_text("VAULT CODE 4172", "VAULT CODE 4173")
    assert not same_text("GATE B7 CLOSED", "GATE B7 OPEN") and not same_text("EXIT", "EXIT 2")
    # The same digits in another code are another text, however alike the words around them.
    assert not same_text("BOILER ROOM CODE N3-AE3", "MAIL ROOM CODE T3-AE3")
    assert not same_text("PLATFORM 4 CODE KX-7", "PLATFORM 4 CODE KY-7")
    assert same_text("MAIL ROOM CODE T3-AE3", "MAIL ROOM CODE T3 AE3")  # OCR lost the hyphen, not the code


def test_drafts_refuse_unknown_modalities_and_backward_times() -> None:
    with pytest.raises(ValueError, match="unknown modality"):
        OccurrenceDraft("smell", 0, 1, "x")
    with pytest.raises(ValueError, match="start <= end"):
        OccurrenceDraft("text", 5, 4, "x")


def test_a_library_made_before_the_timeline_gains_it_when_opened(home: Path) -> None:
    library = Library(home)
    video = add_video(library)
    library.close()
    with sqlite3.connect(home / "catalogue.sqlite") as conn:  # as the previous schema left it
        conn.execute("DROP TABLE occurrences")
        conn.execute("PRAGMA user_version = 1")
    reopened = Library(home)
    assert reopened.connect().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert commit(Timeline(reopened, None), video, STATION[:1])[0].text == "GATE B7 CLOSED"
    assert reopened.video(video).id == video  # what was there stays


@pytest.mark.slow
def test_hybrid_search_and_matching_understand_paraphrases(home: Path) -> None:
    library = Library(home)
    timeline, video = Timeline(library, sentence_embedder()), add_video(library)
    commit(timeline, video, STATION)
    top = timeline.search(video, "where do travellers pick up their bags?", k=3)[0]
    assert top.occurrence.text.startswith("Please collect your luggage") and top.dense > 0.3
    assert timeline.search(video, "the number 4172")[0].occurrence.text == "VAULT CODE 4172"
    shown = timeline.matching(video, "GATE B7 CLOSED")
    assert [h.occurrence.start for h in shown] == [3.5, 22.5, 40.5]  # not gate B8, though it reads almost the same
    assert all(h.score >= MATCH_RATIO * shown[0].score or same_text(h.occurrence.text, "GATE B7 CLOSED") for h in shown)
    said = timeline.matching(video, "when does the northern platform close?", modalities={"speech"})
    assert [h.occurrence.start for h in said] == [4.21]
    cut = timeline.search(video, "a scene change", modalities={"scene"})[0]  # no vector: found by its words
    assert cut.occurrence.start == 12.0 and cut.dense == 0.0 and cut.lexical == 1.0
