"""What the tests that start real processes (workers, `quanwang serve`) share: the test
database where those processes see it, and the environment that points them at it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connections


@contextmanager
def database_shared_with_processes(settings: Any) -> Iterator[None]:
    """PostgreSQL's test database already is shared; SQLite's is in memory, so it is copied
    (migrated, empty) to the var folder's embedded default file, which this process then uses
    too, and the other processes find by QUANWANG_VAR_DIR. Needs `transactional_db`."""
    connection = connections["default"]
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    target = Path(settings.VAR_DIR) / "quanwang.sqlite3"
    copy = sqlite3.connect(target)
    connection.connection.backup(copy)
    copy.close()
    memory, name = connection.connection, connection.settings_dict["NAME"]
    connection.connection = None
    connection.settings_dict["NAME"] = str(target)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
        connection.connection = memory


def shared_env(settings: Any) -> dict[str, str]:
    """This environment, with the test's var folder and database for a `quanwang` process:
    the SQLite file of that var folder (the embedded default), or the PostgreSQL test
    database."""
    env = {**os.environ, "QUANWANG_VAR_DIR": str(settings.VAR_DIR), "PYTHONUNBUFFERED": "1"}
    db = connections["default"].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env.pop("DATABASE_URL", None)
    else:
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env
