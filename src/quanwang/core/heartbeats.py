"""Leases and heartbeats: how a job's process, and a worker, say they are still alive.

A running job holds a lease (`Job.lease_expires_at`) that a thread of its process renews every
`QUANWANG_WORKER_HEARTBEAT_SECONDS`, whatever the handler is doing (a DuckDB query may not
report progress for minutes). A worker process rewrites its `WorkerHeartbeat` row just as
often. Whatever is not renewed within `QUANWANG_JOB_LEASE_SECONDS` is dead.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

_runner_name: str | None = None


def lease_length() -> dt.timedelta:
    return dt.timedelta(seconds=float(settings.QUANWANG_JOB_LEASE_SECONDS))


def beat_seconds() -> float:
    """How often leases and heartbeats are renewed: never more than a third of the lease."""
    lease = float(settings.QUANWANG_JOB_LEASE_SECONDS)
    return max(0.05, min(float(settings.QUANWANG_WORKER_HEARTBEAT_SECONDS), lease / 3))


def runner_name() -> str:
    """The process a job runs in, as shown on its page: the worker's, or `host:pid`."""
    return _runner_name or f"{socket.gethostname()}:{os.getpid()}"


def set_runner_name(name: str | None) -> None:
    global _runner_name
    _runner_name = name


class Beat(threading.Thread):
    """Calls `beat()` every `interval` seconds on a thread of its own until stopped.

    The thread has its own database connection, closed when it ends. A database error (e.g.
    SQLite busy behind a long write) is logged and the beat tried again next time; `beat`
    returns False to end the thread.
    """

    def __init__(self, *, name: str, interval: float, beat: Callable[[], bool]) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self._beat = beat
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(self.interval):
                try:
                    if not self._beat():
                        return
                except DatabaseError:
                    logger.warning("%s: heartbeat not written; trying again", self.name)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive() and self is not threading.current_thread():
            self.join()
