"""One DuckDB database per process for the console's reads of snapshots.

Opening a DuckDB database costs 15-150 ms (its buffer pool and its threads; measured on the
2-core bench machine), more than most insight pages' own queries; a cursor on an open one costs
nothing. A cursor is a connection of its own, so each request and thread takes one: a
connection must not be shared between threads. A process that forked (a web worker) opens its
own database rather than use its parent's.
"""

from __future__ import annotations

import os
import threading

import duckdb

_database: duckdb.DuckDBPyConnection | None = None
_pid = 0
_lock = threading.Lock()


def cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory DuckDB database."""
    global _database, _pid
    with _lock:
        if _database is None or _pid != os.getpid():
            _database, _pid = duckdb.connect(), os.getpid()
        return _database.cursor()
