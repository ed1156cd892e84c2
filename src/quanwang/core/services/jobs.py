"""Starting, cancelling and retrying jobs, and noticing the ones whose process died."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import OperationalError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import (
    JOB_FINISHED,
    JOB_LIVE,
    JOB_RETRYABLE,
    Action,
    JobKind,
    JobStatus,
)
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job, OrgUnit

logger = logging.getLogger(__name__)


def _enqueue(job_id: int, run_after: dt.datetime | None = None) -> None:
    from quanwang.core.tasks import run_job

    # run_after: not before then (django-tasks-db's worker leaves it until that moment).
    task = run_job.using(run_after=run_after) if run_after is not None else run_job
    result = task.enqueue(job_id)
    Job.objects.filter(pk=job_id).update(task_result_id=str(result.id))


def _locked(*, actor: Any, job_id: int) -> Job:
    job = Job.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=job_id).first()
    if job is None:
        raise NotFound()
    return job


def start_job(
    *,
    actor: Any,
    kind: JobKind,
    org_unit: OrgUnit | None,
    params: dict[str, Any],
    background: bool = True,
    run_after: dt.datetime | None = None,
) -> Job:
    """Create a job; in the background it is queued for the worker once the row is committed
    (to run at `run_after` or later, when given: a dispatch step deferred by quiet hours)."""
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            org_unit=org_unit,
            created_by=actor if getattr(actor, "pk", None) else None,
            params=params,
            attempts=1,
        )
        if background:
            transaction.on_commit(lambda: _enqueue(job.pk, run_after))
    return job


def start_job_once(
    *, actor: Any, kind: JobKind, params: dict[str, Any], background: bool = True
) -> Job:
    """Start a province-wide job (filed under the root of the org tree), or, while one of the
    same kind and params is queued or running, answer with that one: two clicks or two
    managers at once start one job. The root's row serialises the check and the start."""
    with transaction.atomic():
        root = (
            OrgUnit.objects.select_for_update().filter(parent__isnull=True).order_by("path").first()
        )
        live = (
            Job.objects.filter(kind=kind, status__in=JOB_LIVE)
            .filter(**{f"params__{key}": value for key, value in params.items()})
            .order_by("pk")
            .first()
        )
        if live is not None:
            return live
        return start_job(
            actor=actor, kind=kind, org_unit=root, params=params, background=background
        )


def _lapsed(job: Job, now: dt.datetime) -> bool:
    """A running job whose process stopped renewing its lease (died, or lost the machine)."""
    return job.status == JobStatus.RUNNING and (
        job.lease_expires_at is None or job.lease_expires_at < now
    )


def lapsed_jobs(now: dt.datetime | None = None) -> QuerySet[Job]:
    """Running jobs whose lease lapsed. A running job without a lease predates leases."""
    moment = now or timezone.now()
    return Job.objects.filter(status=JobStatus.RUNNING).filter(
        Q(lease_expires_at__lt=moment) | Q(lease_expires_at__isnull=True)
    )


def interrupt_lapsed_jobs(*, now: dt.datetime | None = None) -> int:
    """Mark running jobs whose lease lapsed as interrupted (or cancelled, when a cancel was
    asked); the number marked. Cheap when there are none (one indexed read): the worker
    calls it at start-up and on every heartbeat, the job pages and API on every read."""
    moment = now or timezone.now()
    if not lapsed_jobs(moment).exists():
        return 0
    with transaction.atomic():
        cancelled = (
            lapsed_jobs(moment)
            .filter(cancel_requested=True)
            .update(status=JobStatus.CANCELLED, finished_at=moment)
        )
        interrupted = lapsed_jobs(moment).update(status=JobStatus.INTERRUPTED, finished_at=moment)
    if interrupted:
        logger.warning(
            "%d job(s) interrupted: their process stopped renewing the lease", interrupted
        )
    return cancelled + interrupted


def notice_lapsed_jobs() -> None:
    """`interrupt_lapsed_jobs` for a read path: a busy database (SQLite behind a long write)
    must not fail the page; the next read, or the worker, notices instead."""
    try:
        interrupt_lapsed_jobs()
    except OperationalError:
        logger.warning("lapsed jobs not marked: database busy")


def cancel_job(*, actor: Any, job_id: int) -> Job:
    """A queued job is cancelled at once, and so is a running one whose process is dead (its
    lease lapsed); a live running one stops at its next progress report or heartbeat."""
    with transaction.atomic():
        job = _locked(actor=actor, job_id=job_id)
        if job.status in JOB_FINISHED:
            raise ServiceError(_("This job has already finished."), field="status")
        now = timezone.now()
        if job.status == JobStatus.QUEUED or _lapsed(job, now):
            job.status = JobStatus.CANCELLED
            job.finished_at = now
        job.cancel_requested = True
        job.save(update_fields=["status", "finished_at", "cancel_requested"])
    return job


def retry_job(*, actor: Any, job_id: int) -> Job:
    """Queue a failed, cancelled or interrupted job again, as its next attempt. A running job
    whose lease lapsed is interrupted first. Handlers resume where they can (dispatch skips
    what its ledger shows was sent)."""
    with transaction.atomic():
        job = _locked(actor=actor, job_id=job_id)
        if _lapsed(job, timezone.now()):
            job.status = JobStatus.INTERRUPTED
        if job.status not in JOB_RETRYABLE:
            raise ServiceError(
                _("Only a failed, cancelled or interrupted job can be retried."), field="status"
            )
        job.status = JobStatus.QUEUED
        job.cancel_requested = False
        job.done = 0
        job.total = None
        job.stage = ""
        job.error = ""
        job.result = None
        job.started_at = None
        job.finished_at = None
        job.worker = ""
        job.heartbeat_at = None
        job.lease_expires_at = None
        job.attempts += 1
        job.messages = [*job.messages, _("Retry #%(n)d") % {"n": job.attempts}]
        job.save()
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job
