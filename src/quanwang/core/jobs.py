"""The job runtime: handlers by kind, progress reporting, cooperative cancel, the lease.

A handler is a function `(ctx, **params) -> dict` registered for a `JobKind`. It reports
progress through `ctx` and must not hold a database transaction open while it does, so
the console can read its progress from another connection.

A cancel stops a handler at its next `ctx.progress` (or `ctx.check_cancelled`): a handler
that reports nothing for minutes (one long DuckDB query) stops only when it next reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from quanwang.core import formatting
from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.errors import JobCancelled, ServiceError
from quanwang.core.heartbeats import Beat, beat_seconds, lease_length, runner_name
from quanwang.core.models import Job, OrgUnit
from quanwang.core.uploads import private_dir

logger = logging.getLogger(__name__)

Handler = Callable[..., dict[str, Any]]
ProgressListener = Callable[[Job], None]
HANDLERS: dict[JobKind, Handler] = {}
PROGRESS_WRITE_INTERVAL_S = 0.25
MAX_MESSAGES = 200


RESULT_LABELS: dict[str, str | Promise] = {
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
    "notes": gettext_lazy("Notes"),
}


# Labels for the codes inside a result value, by result key (e.g. by_reason → reject codes);
# apps add theirs next to the handler that produces them.
RESULT_CODE_LABELS: dict[str, dict[str, Any]] = {}

# Errors whose message is written for the people who run the job (translated, naming the
# file, row or field at fault): the job page shows them as they are. Apps add theirs next
# to their handlers. Any other exception is a defect: its type and traceback go to the
# server log, never to a page (a Chinese page must not show Python).
USER_FACING_ERRORS: list[type[Exception]] = [ServiceError]


def error_text(exc: Exception, *, job_id: int) -> str:
    """What the job page says about `exc`."""
    if isinstance(exc, ServiceError):
        return str(exc.message)
    if isinstance(exc, tuple(USER_FACING_ERRORS)):
        return str(exc)
    return gettext(
        "The job stopped on an unexpected error (job #%(id)d); the details are in the server log."
    ) % {"id": job_id}


# How to show a result value that needs the rest of the result to be read (a table's columns
# by their labels need the table), by result key; apps add theirs next to their handlers.
RESULT_FORMATTERS: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {}


def result_display(key: str, value: Any, result: Mapping[str, Any] | None = None) -> str:
    """A result value as text for people: codes by their label, lists joined, a missing value
    as a dash (never "None")."""
    if key in RESULT_FORMATTERS:
        return RESULT_FORMATTERS[key](value, result or {})
    labels = RESULT_CODE_LABELS.get(key, {})
    if isinstance(value, dict):
        return "; ".join(
            f"{labels.get(code, code)}: {_shown(count)}" for code, count in value.items()
        )
    if isinstance(value, list):
        return ", ".join(str(labels.get(str(item), item)) for item in value)
    if isinstance(value, str):
        return str(labels.get(value, value))
    return _shown(value)


def _shown(value: Any) -> str:
    return formatting.MISSING if value is None or value == "" else str(value)


def quarantine_path(name: str) -> Path:
    """Where a job's rejected rows are kept (under var/, never under the web root)."""
    return private_dir(Path(settings.VAR_DIR) / "quarantine") / Path(name).name


def register(kind: JobKind) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return decorate


class LeaseLost(JobCancelled):
    """The job was taken from this process: its lease lapsed and it was marked interrupted
    (or cancelled), or it was retried. The handler stops; this run writes nothing more."""


@dataclass
class JobContext:
    job: Job
    listener: ProgressListener | None = None
    _last_write: float = field(default=0.0)
    # Set by the lease keeper's thread, read at the next progress report.
    cancel_seen: threading.Event = field(default_factory=threading.Event)
    lease_lost: threading.Event = field(default_factory=threading.Event)

    @property
    def attempt(self) -> int:
        return self.job.attempts

    def progress(
        self,
        *,
        done: int | None = None,
        total: int | None = None,
        stage: str | None = None,
        force: bool = False,
    ) -> None:
        """Record progress; writes are throttled, and a requested cancel is raised here."""
        self._raise_if_stopped()
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
            # A progress write renews the lease too; it only lands while this run holds it.
            moment = timezone.now()
            written = self.held().update(
                done=self.job.done,
                total=self.job.total,
                stage=self.job.stage,
                messages=self.job.messages,
                heartbeat_at=moment,
                lease_expires_at=moment + lease_length(),
            )
            if not written:
                raise LeaseLost()
            self.check_cancelled()
        if self.listener is not None:
            self.listener(self.job)

    def message(self, text: str) -> None:
        self.job.messages = [*self.job.messages, text][-MAX_MESSAGES:]
        self.progress(force=True)

    def check_cancelled(self) -> None:
        self._raise_if_stopped()
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled()

    def _raise_if_stopped(self) -> None:
        if self.lease_lost.is_set():
            raise LeaseLost()
        if self.cancel_seen.is_set():
            raise JobCancelled()

    def held(self) -> Any:
        """This run's row, as long as this run holds it (running, and not retried since)."""
        return Job.objects.filter(pk=self.job.pk, status=JobStatus.RUNNING, attempts=self.attempt)

    def renew_lease(self) -> bool:
        """One heartbeat: extend the lease, and note a cancel request. False once the job was
        taken from this run, which stops the heartbeat and the handler at its next report."""
        row = Job.objects.filter(pk=self.job.pk).values("status", "attempts", "cancel_requested")
        current = row.first()
        if current is None:  # not visible from here (created in a transaction still open)
            return True
        if current["status"] != JobStatus.RUNNING or current["attempts"] != self.attempt:
            self.lease_lost.set()
            return False
        if current["cancel_requested"]:
            self.cancel_seen.set()
        moment = timezone.now()
        self.held().update(heartbeat_at=moment, lease_expires_at=moment + lease_length())
        return True


def _lease_keeper(ctx: JobContext) -> Beat | None:
    """A thread renewing the job's lease while its handler runs. None inside an open
    transaction: other connections cannot see the job then, so there is nothing to renew."""
    if transaction.get_connection().in_atomic_block:
        return None
    keeper = Beat(name=f"job-{ctx.job.pk}-lease", interval=beat_seconds(), beat=ctx.renew_lease)
    keeper.start()
    return keeper


def execute_job(*, job_id: int, listener: ProgressListener | None = None) -> Job:
    """Run one job to its end. A job that is not queued (cancelled, already run) is skipped.

    While it runs it holds a lease renewed by a heartbeat thread; if this process dies, the
    lease lapses and the job is marked interrupted by whoever notices (services.jobs).
    """
    moment = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=moment,
        error="",
        worker=runner_name()[:100],
        heartbeat_at=moment,
        lease_expires_at=moment + lease_length(),
    )
    job = Job.objects.get(pk=job_id)
    if not claimed:
        return job
    ctx = JobContext(job=job, listener=listener)
    handler = HANDLERS[JobKind(job.kind)]
    keeper = _lease_keeper(ctx)
    try:
        result = handler(ctx, **job.params)
    except LeaseLost:
        logger.warning("job %s: lease lost to another run; stopped", job_id)
        _stop(keeper)
        job.refresh_from_db()
    except JobCancelled:
        _stop(keeper)
        _finish(ctx, status=JobStatus.CANCELLED)
    except Exception as exc:
        _stop(keeper)
        if isinstance(exc, tuple(USER_FACING_ERRORS)):
            # The user's to fix, and said on the job page: no traceback (the CLI's stderr is
            # this log, and must read as one line of cause).
            logger.info("job %s failed: %s", job_id, exc)
        else:
            logger.exception("job %s failed", job_id)
        _finish(ctx, status=JobStatus.FAILED, error=error_text(exc, job_id=job_id))
    except BaseException:
        # Ctrl+C in a terminal, or a worker told to stop now: the job did not finish, and is
        # interrupted at once rather than when its lease lapses.
        _stop(keeper)
        _finish(ctx, status=JobStatus.INTERRUPTED)
        raise
    else:
        _stop(keeper)
        job.result = result
        job.stage = ""
        if job.total is not None:
            job.done = job.total
        _finish(ctx, status=JobStatus.SUCCEEDED)
    if listener is not None:
        listener(job)
    return job


def _stop(keeper: Beat | None) -> None:
    if keeper is not None:
        keeper.stop()


def _finish(ctx: JobContext, *, status: JobStatus, error: str = "") -> None:
    """Write the end of this run, unless the job was taken from it meanwhile."""
    job = ctx.job
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    if job.org_unit_id is None:
        # A system job run before the org tree existed (its first import) files under the
        # root once there is one, so province admins see it.
        job.org_unit = OrgUnit.objects.filter(parent=None).order_by("path").first()
    written = ctx.held().update(
        status=job.status,
        error=job.error,
        finished_at=job.finished_at,
        result=job.result,
        done=job.done,
        total=job.total,
        stage=job.stage,
        messages=job.messages,
        org_unit=job.org_unit,
    )
    if not written:
        logger.warning("job %s: taken from this run before it could finish", job.pk)
        job.refresh_from_db()
