"""`quanwang worker`: the django-tasks database worker, with a heartbeat.

Beside the queue loop, a thread rewrites this process's `WorkerHeartbeat` row and marks the
jobs of dead processes interrupted (their lease lapsed), at start-up and on every beat.
"""

import contextlib
import datetime as dt
import os
import socket
from typing import Any

from django.db import DatabaseError
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django.utils.translation import gettext as _
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from quanwang.core.heartbeats import Beat, beat_seconds, set_runner_name
from quanwang.core.services.jobs import interrupt_lapsed_jobs
from quanwang.core.services.workers import (
    forget_dead_workers,
    forget_worker,
    record_heartbeat,
)


class Command(DbWorkerCommand):
    help = _("Run the background job worker (imports, pipeline runs, dispatch).")

    def handle(self, *args: Any, **options: Any) -> None:
        reloader_parent = (
            options["reload"]
            and not options["batch"]
            and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        )
        if reloader_parent:  # it only restarts its child on code changes; the child works
            super().handle(*args, **options)
            return
        worker_id: str = options["worker_id"]
        started = timezone.now()
        set_runner_name(f"{socket.gethostname()}:{os.getpid()}")
        forget_dead_workers()
        interrupt_lapsed_jobs()
        record_heartbeat(worker_id=worker_id, started_at=started)
        beat = Beat(
            name="worker-heartbeat",
            interval=beat_seconds(),
            beat=lambda: _beat(worker_id=worker_id, started_at=started),
        )
        beat.start()
        try:
            super().handle(*args, **options)
        finally:
            beat.stop()
            with contextlib.suppress(DatabaseError):  # if so, its row goes stale instead
                forget_worker(worker_id=worker_id)


def _beat(*, worker_id: str, started_at: dt.datetime) -> bool:
    record_heartbeat(worker_id=worker_id, started_at=started_at)
    interrupt_lapsed_jobs()
    return True
