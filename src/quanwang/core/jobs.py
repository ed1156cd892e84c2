"""The job runtime: handlers by kind, progress reporting, cooperative cancel.

A handler is a function `(ctx, **params) -> dict` registered for a `JobKind`. It reports
progress through `ctx` and must not hold a database transaction open while it does, so
the console can read its progress from another connection.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy

from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.errors import JobCancelled
from quanwang.core.models import Job

logger = logging.getLogger(__name__)

Handler = Callable[..., dict[str, Any]]
ProgressListener = Callable[[Job], None]
HANDLERS: dict[JobKind, Handler] = {}
PROGRESS_WRITE_INTERVAL_S = 0.25
MAX_MESSAGES = 200


RESULT_LABELS = {
    "file": gettext_lazy("File"),
    "rows_read": gettext_lazy("Rows read"),
    "loaded": gettext_lazy("Loaded"),
    "quarantined": gettext_lazy("Quarantined"),
    "created": gettext_lazy("New"),
    "updated": gettext_lazy("Changed"),
    "unchanged": gettext_lazy("Unchanged"),
    "quarantine_file": gettext_lazy("Rejected rows file"),
    "table": gettext_lazy("Table"),
    "seconds": gettext_lazy("Seconds"),
    "version": gettext_lazy("Table version"),
    "by_reason": gettext_lazy("Quarantined by reason"),
    "unused_columns": gettext_lazy("Columns not loaded"),
}


# Labels for the codes inside a result value, by result key (e.g. by_reason → reject codes);
# apps add theirs next to the handler that produces them.
RESULT_CODE_LABELS: dict[str, dict[str, Any]] = {}


def result_display(key: str, value: Any) -> str:
    """A result value as text for people: codes by their label, lists joined."""
    if isinstance(value, dict):
        labels = RESULT_CODE_LABELS.get(key, {})
        return "; ".join(f"{labels.get(code, code)}: {count}" for code, count in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def quarantine_path(name: str) -> Path:
    """Where a job's rejected rows are kept (under var/, never under the web root)."""
    return Path(settings.VAR_DIR) / "quarantine" / Path(name).name


def register(kind: JobKind) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return decorate


@dataclass
class JobContext:
    job: Job
    listener: ProgressListener | None = None
    _last_write: float = field(default=0.0)

    def progress(
        self,
        *,
        done: int | None = None,
        total: int | None = None,
        stage: str | None = None,
        force: bool = False,
    ) -> None:
        """Record progress; writes are throttled, and a requested cancel is raised here."""
        if done is not None:
            self.job.done = done
        if total is not None:
            self.job.total = total
        if stage is not None:
            self.job.stage = stage
            force = True
        now = time.monotonic()
        if force or now - self._last_write >= PROGRESS_WRITE_INTERVAL_S:
            self._last_write = now
            Job.objects.filter(pk=self.job.pk).update(
                done=self.job.done,
                total=self.job.total,
                stage=self.job.stage,
                messages=self.job.messages,
            )
            self.check_cancelled()
        if self.listener is not None:
            self.listener(self.job)

    def message(self, text: str) -> None:
        self.job.messages = [*self.job.messages, text][-MAX_MESSAGES:]
        self.progress(force=True)

    def check_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled()


def execute_job(*, job_id: int, listener: ProgressListener | None = None) -> Job:
    """Run one job to its end. A job that is not queued (cancelled, already run) is skipped."""
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), error=""
    )
    job = Job.objects.get(pk=job_id)
    if not claimed:
        return job
    ctx = JobContext(job=job, listener=listener)
    handler = HANDLERS[JobKind(job.kind)]
    try:
        result = handler(ctx, **job.params)
    except JobCancelled:
        _finish(job, status=JobStatus.CANCELLED)
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        job.messages = [*job.messages, traceback.format_exc(limit=5)][-MAX_MESSAGES:]
        _finish(job, status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        job.result = result
        job.stage = ""
        if job.total is not None:
            job.done = job.total
        _finish(job, status=JobStatus.SUCCEEDED)
    if listener is not None:
        listener(job)
    return job


def _finish(job: Job, *, status: JobStatus, error: str = "") -> None:
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "status",
            "error",
            "finished_at",
            "result",
            "done",
            "total",
            "stage",
            "messages",
        ]
    )
