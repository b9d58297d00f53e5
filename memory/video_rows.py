"""A video's rows in the catalogue, found from the schema alone.

Every table that reaches `videos` through foreign keys holds rows that belong to one video, so
the list of such tables, how to select one video's rows in each, and which integer keys point
where are all read from SQLite's own description of the schema: a table added later (the event
timeline's, say) is covered without a change here, as long as its references are declared as
foreign keys.

`copy_video` moves one video's rows from a catalogue attached under a schema name (a shard) into
the main one, renumbering integer primary keys past the target's largest and every foreign key
with them. `canonical_rows` lists a video's rows with those numbers replaced by ranks, so two
catalogues that hold the same memory compare equal whatever ids they handed out.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

ROOT = "videos"
# Bookkeeping that differs between equal memories: when a row was written, and reader-cache counters.
VOLATILE = {"videos": frozenset({"created", "updated"}), "revisions": None}


@dataclass(frozen=True)
class Reference:
    """`column` of a table points at `column` `target` of table `parent`."""

    column: str
    parent: str
    target: str


@dataclass(frozen=True)
class VideoTable:
    """A table whose rows belong to videos; `key` is its INTEGER PRIMARY KEY (renumbered on copy), if any."""

    name: str
    columns: tuple[str, ...]
    key: str | None
    references: tuple[Reference, ...]


def video_tables(conn: sqlite3.Connection, schema: str = "main") -> list[VideoTable]:
    """The tables of `schema` that belong to videos, parents before children, `videos` first."""
    names = [
        row[0]
        for row in conn.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    described = {name: _describe(conn, schema, name) for name in names}
    ordered: list[VideoTable] = [described[ROOT]]
    placed = {ROOT}
    while True:
        ready = [
            table
            for name, table in described.items()
            if name not in placed and table.references and {r.parent for r in table.references} <= placed
        ]
        if not ready:
            return ordered
        ordered += ready
        placed |= {table.name for table in ready}


def _describe(conn: sqlite3.Connection, schema: str, name: str) -> VideoTable:
    info = conn.execute(f'PRAGMA {schema}.table_info("{name}")').fetchall()
    columns = tuple(row[1] for row in info)
    keys = [row for row in info if row[5]]
    key = keys[0][1] if len(keys) == 1 and keys[0][2].upper() == "INTEGER" else None
    references = tuple(
        Reference(row[3], row[2], row[4] or _primary_key(conn, schema, row[2]))
        for row in conn.execute(f'PRAGMA {schema}.foreign_key_list("{name}")')
    )
    return VideoTable(name, columns, key, references)


def _primary_key(conn: sqlite3.Connection, schema: str, table: str) -> str:
    return next(row[1] for row in conn.execute(f'PRAGMA {schema}.table_info("{table}")') if row[5])


def _owned(tables: dict[str, VideoTable], table: VideoTable, schema: str) -> str:
    """A WHERE condition on `table` (in `schema`) that selects one video's rows, with one `?` for its id."""
    if table.name == ROOT:
        return f"{schema}.{ROOT}.id = ?"
    direct = next((r for r in table.references if r.parent == ROOT), None)
    if direct is not None:
        return f'{schema}."{table.name}"."{direct.column}" = ?'
    via = table.references[0]
    parent = tables[via.parent]
    inner = _owned(tables, parent, schema)
    return (
        f'{schema}."{table.name}"."{via.column}" IN '
        f'(SELECT {schema}."{parent.name}"."{via.target}" FROM {schema}."{parent.name}" WHERE {inner})'
    )


def _numbered(tables: dict[str, VideoTable], table: VideoTable) -> dict[str, str]:
    """The columns of `table` that hold an integer key of some table (its own, or one it references), and that table."""
    found = {table.key: table.name} if table.key else {}
    return found | {r.column: r.parent for r in table.references if tables[r.parent].key == r.target}


def copy_video(conn: sqlite3.Connection, source: str, video: str) -> dict[str, int]:
    """Insert every row of `video` from the attached schema `source` into `main`, inside the caller's
    transaction; integer keys move past main's largest. Returns the rows copied per table."""
    tables = {table.name: table for table in video_tables(conn)}
    offsets = {
        table.name: conn.execute(f'SELECT COALESCE(MAX("{table.key}"), 0) FROM main."{table.name}"').fetchone()[0]
        for table in tables.values()
        if table.key
    }
    copied = {}
    for table in tables.values():
        moved = {column: offsets[parent] for column, parent in _numbered(tables, table).items()}
        values = ", ".join(f'"{c}" + {moved[c]}' if c in moved else f'"{c}"' for c in table.columns)
        names = ", ".join(f'"{c}"' for c in table.columns)
        cursor = conn.execute(
            f'INSERT INTO main."{table.name}" ({names}) SELECT {values} FROM {source}."{table.name}" '
            f"WHERE {_owned(tables, table, source)}",
            (video,),
        )
        copied[table.name] = cursor.rowcount
    return copied


def canonical_rows(conn: sqlite3.Connection, video: str) -> dict[str, list[tuple]]:
    """Every row of `video` per table, ids replaced by their rank within the video and bookkeeping
    left out (`VOLATILE`), so equal memories give equal results."""
    tables = {table.name: table for table in video_tables(conn)}
    ranks: dict[str, dict[int, int]] = {}
    for table in tables.values():
        if table.key:
            ids = conn.execute(
                f'SELECT "{table.key}" FROM main."{table.name}" WHERE {_owned(tables, table, "main")} ORDER BY "{table.key}"',
                (video,),
            )
            ranks[table.name] = {row[0]: rank for rank, row in enumerate(ids)}
    found: dict[str, list[tuple]] = {}
    for table in tables.values():
        if table.name in VOLATILE and VOLATILE[table.name] is None:
            continue
        skipped = VOLATILE.get(table.name) or frozenset()
        renamed = _numbered(tables, table)
        columns = [c for c in table.columns if c not in skipped]
        names = ", ".join(f'"{c}"' for c in columns)
        order = f'"{table.key}"' if table.key else names
        rows = conn.execute(
            f'SELECT {names} FROM main."{table.name}" WHERE {_owned(tables, table, "main")} ORDER BY {order}', (video,)
        ).fetchall()
        found[table.name] = [
            tuple(
                ranks[renamed[c]].get(value) if c in renamed and value is not None else value
                for c, value in zip(columns, row, strict=True)
            )
            for row in rows
        ]
    return found
