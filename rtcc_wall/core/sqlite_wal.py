"""Switching an SQLite connection to WAL mode, as two processes may do at the same moment.

Switching a fresh file to WAL needs an exclusive lock, and SQLite answers
"database is locked" at once - without its busy handler - when two processes
create the file together (the app and ``rtcc-wall incident open``, say). So
the switch is retried, with a growing pause, until a deadline.
"""

from __future__ import annotations

import sqlite3
import time


def use_wal(conn: sqlite3.Connection, deadline: float) -> None:
    """``PRAGMA journal_mode=WAL`` on ``conn``, retried until ``deadline`` (monotonic s)."""
    delay = 0.005
    while time.monotonic() < deadline + delay:  # at least one try, even past the deadline
        try:
            row = conn.execute("PRAGMA journal_mode=WAL").fetchone()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
            continue
        if row is None or str(row[0]).lower() != "wal":
            raise sqlite3.OperationalError(f"could not switch to WAL mode (got {row})")
        return
    raise sqlite3.OperationalError("could not switch to WAL mode: database is locked")
