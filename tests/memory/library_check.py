"""A library's whole contents, to compare before and after something that must not write.

(The checks of what a library must satisfy live in `memory.audit`.)
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def library_state(home: Path) -> dict:
    """A library's contents, to compare before and after something that must not write: every table's
    rows (a logical dump, so page reuse does not count) and every file under videos/."""
    conn = sqlite3.connect(f"file:{Path(home) / 'catalogue.sqlite'}?mode=ro", uri=True)
    try:
        dump = hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
        counts = {
            name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    finally:
        conn.close()
    files = {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((Path(home) / "videos").rglob("*"))
        if p.is_file()
    }
    return {"dump": dump, "counts": counts, "files": files}
