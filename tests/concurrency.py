"""Running work at the same moment on threads with their own database connections: two
clicks, two managers, two workers. On PostgreSQL (SQLite's shared in-memory test database
refuses a second writer where a server waits for the row lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def at_once(*work: Callable[[], Any]) -> list[Any]:
    """Each callable's result (or the exception it raised), in order, started together."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int, task: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = task()
        except Exception as exc:  # the test inspects it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
