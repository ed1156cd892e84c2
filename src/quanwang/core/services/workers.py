"""Job worker processes: their heartbeats, and whether any is alive to run waiting jobs."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db import DatabaseBackend

from quanwang.core.choices import Action, JobStatus, Resource
from quanwang.core.heartbeats import lease_length
from quanwang.core.models import Job, WorkerHeartbeat
from quanwang.core.querysets import has_grant

# Rows of workers dead this many leases are deleted when a worker starts.
FORGET_AFTER_LEASES = 10


def record_heartbeat(*, worker_id: str, started_at: dt.datetime) -> None:
    """This worker process is alive now."""
    now = timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(seen_at=now)
    if not updated:
        WorkerHeartbeat.objects.create(
            worker_id=worker_id,
            hostname=socket.gethostname()[:255],
            pid=os.getpid(),
            started_at=started_at,
            seen_at=now,
        )


def forget_worker(*, worker_id: str) -> None:
    """A worker that stops cleanly removes its row; a killed one's row goes stale."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def forget_dead_workers() -> int:
    cutoff = timezone.now() - FORGET_AFTER_LEASES * lease_length()
    deleted, _by_model = WorkerHeartbeat.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


def live_workers() -> Any:
    return WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - lease_length())


def needs_worker() -> bool:
    """Whether jobs run in a worker process at all (the database task backend), rather than
    in the request (the immediate backend of some test and demo setups)."""
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def jobs_waiting_without_worker(user: Any) -> int:
    """How many queued jobs `user` may see wait while no worker is alive; 0 when a worker
    is alive, none wait, or the user may not see jobs."""
    if not has_grant(user, resource=Resource.JOB, action=Action.VIEW) or not needs_worker():
        return 0
    if live_workers().exists():
        return 0
    return Job.objects.restrict(user).filter(status=JobStatus.QUEUED).count()
