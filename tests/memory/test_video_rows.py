"""A video's rows found from the schema alone: every table that reaches `videos` through foreign
keys, parents first; copied between catalogues with integer keys renumbered and followed; listed
without numbers, so equal memories compare equal. A table added later is covered unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory.store import Library
from memory.video_rows import canonical_rows, copy_video, video_tables
from tests.memory.catalogue import add_video

LATER_TABLE = """CREATE TABLE notes (
    id INTEGER PRIMARY KEY, fact INTEGER NOT NULL REFERENCES facts(id) ON DELETE CASCADE, text TEXT NOT NULL
)"""


def memory_of(library: Library, video: str, words: list[str]) -> None:
    """Segments, an entity, facts linked to segments and a note per fact, as raw rows."""
    with library.transaction() as conn:
        segments = [
            conn.execute(
                'INSERT INTO segments(video, scale, start, "end", caption, ocr_text, speech_text, objects, keyframes) '
                "VALUES (?, 10, ?, ?, ?, '', '', '[]', '[]')",
                (video, 10.0 * i, 10.0 * i + 10, word),
            ).lastrowid
            for i, word in enumerate(words)
        ]
        entity = conn.execute(
            "INSERT INTO entities(video, name, norm, kind) VALUES (?, 'screen', 'screen', 'text')", (video,)
        ).lastrowid
        for segment, word in zip(segments, words):
            fact = conn.execute(
                "INSERT INTO facts(video, entity, relation, object, object_norm, source) VALUES (?, ?, 'shown', ?, ?, 'ocr')",
                (video, entity, word, word.lower()),
            ).lastrowid
            conn.execute(
                "INSERT INTO fact_segments(fact, segment, start, \"end\", confidence, source) VALUES (?, ?, 0, 1, 0.9, 'ocr')",
                (fact, segment),
            )
            conn.execute("INSERT INTO notes(fact, text) VALUES (?, ?)", (fact, f"note on {word}"))
        library.bump(conn, video, "episodic")


def library_with_notes(home: Path) -> Library:
    library = Library(home)
    with library.transaction() as conn:
        conn.execute(LATER_TABLE)
    return library


def test_every_table_that_reaches_videos_is_listed_parents_first(home: Path):
    conn = Library(home).connect()
    tables = video_tables(conn)
    names = [table.name for table in tables]
    everything = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names[0] == "videos" and set(names) == everything  # every table of today's schema belongs to videos
    for table in tables:
        assert all(names.index(ref.parent) < names.index(table.name) for ref in table.references), table
    keys = {table.name: table.key for table in tables}
    assert keys["segments"] == keys["facts"] == keys["entities"] == "id"
    assert keys["videos"] is None and keys["fact_segments"] is None  # a text key and a composite one stay as they are


def test_a_video_copied_into_a_busy_catalogue_keeps_its_links_and_equals_the_original(tmp_path: Path):
    source, target = library_with_notes(tmp_path / "source"), library_with_notes(tmp_path / "target")
    add_video(source, "aaaaaaaaaaaaaaaa")
    memory_of(source, "aaaaaaaaaaaaaaaa", ["ALPHA", "BETA", "GAMMA"])
    add_video(target, "bbbbbbbbbbbbbbbb")
    memory_of(target, "bbbbbbbbbbbbbbbb", ["ONE", "TWO", "THREE", "FOUR"])  # its ids are the ones the copy would reuse
    before = canonical_rows(target.connect(), "bbbbbbbbbbbbbbbb")

    conn = target.connect()
    conn.execute("ATTACH DATABASE ? AS shard", (str(source.catalogue),))
    with target.transaction() as tx:
        copied = copy_video(tx, "shard", "aaaaaaaaaaaaaaaa")
    conn.execute("DETACH DATABASE shard")

    assert copied["notes"] == copied["facts"] == copied["fact_segments"] == 3 and copied["revisions"] == 1
    assert "notes" in canonical_rows(conn, "aaaaaaaaaaaaaaaa")  # the table added later came along
    assert canonical_rows(conn, "aaaaaaaaaaaaaaaa") == canonical_rows(source.connect(), "aaaaaaaaaaaaaaaa")
    assert canonical_rows(conn, "bbbbbbbbbbbbbbbb") == before
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    linked = conn.execute(
        "SELECT notes.text, facts.object, segments.caption FROM notes JOIN facts ON facts.id = notes.fact "
        "JOIN fact_segments ON fact_segments.fact = facts.id JOIN segments ON segments.id = fact_segments.segment "
        "WHERE facts.video = ? ORDER BY notes.id",
        ("aaaaaaaaaaaaaaaa",),
    ).fetchall()
    assert [tuple(row) for row in linked] == [(f"note on {w}", w, w) for w in ("ALPHA", "BETA", "GAMMA")]


def test_canonical_rows_tell_different_memories_apart(tmp_path: Path):
    one, two = library_with_notes(tmp_path / "one"), library_with_notes(tmp_path / "two")
    for library, words in ((one, ["ALPHA", "BETA"]), (two, ["ALPHA", "DELTA"])):
        add_video(library, "aaaaaaaaaaaaaaaa")
        memory_of(library, "aaaaaaaaaaaaaaaa", words)
    assert canonical_rows(one.connect(), "aaaaaaaaaaaaaaaa") != canonical_rows(two.connect(), "aaaaaaaaaaaaaaaa")


def test_a_copy_that_breaks_a_constraint_leaves_the_target_as_it_was(tmp_path: Path):
    source, target = library_with_notes(tmp_path / "source"), library_with_notes(tmp_path / "target")
    for library in (source, target):
        add_video(library, "aaaaaaaaaaaaaaaa")  # the video is already in the target: its row cannot go in twice
    memory_of(source, "aaaaaaaaaaaaaaaa", ["ALPHA"])
    conn = target.connect()
    conn.execute("ATTACH DATABASE ? AS shard", (str(source.catalogue),))
    with pytest.raises(Exception, match="UNIQUE"), target.transaction() as tx:
        copy_video(tx, "shard", "aaaaaaaaaaaaaaaa")
    conn.execute("DETACH DATABASE shard")
    assert conn.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 0
