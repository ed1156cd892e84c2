"""Starting, cancelling and retrying jobs."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import JOB_FINISHED, JOB_RETRYABLE, Action, JobKind, JobStatus
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job, OrgUnit


def _enqueue(job_id: int) -> None:
    from quanwang.core.tasks import run_job

    result = run_job.enqueue(job_id)
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
) -> Job:
    """Create a job; in the background it is queued for the worker once the row is committed."""
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            org_unit=org_unit,
            created_by=actor if getattr(actor, "pk", None) else None,
            params=params,
            attempts=1,
        )
        if background:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def cancel_job(*, actor: Any, job_id: int) -> Job:
    """A queued job is cancelled at once; a running one stops at its next progress report."""
    with transaction.atomic():
        job = _locked(actor=actor, job_id=job_id)
        if job.status in JOB_FINISHED:
            raise ServiceError(_("This job has already finished."), field="status")
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.CANCELLED
            job.finished_at = timezone.now()
        job.cancel_requested = True
        job.save(update_fields=["status", "finished_at", "cancel_requested"])
    return job


def retry_job(*, actor: Any, job_id: int) -> Job:
    with transaction.atomic():
        job = _locked(actor=actor, job_id=job_id)
        if job.status not in JOB_RETRYABLE:
            raise ServiceError(_("Only a failed or cancelled job can be retried."), field="status")
        job.status = JobStatus.QUEUED
        job.cancel_requested = False
        job.done = 0
        job.total = None
        job.stage = ""
        job.error = ""
        job.result = None
        job.started_at = None
        job.finished_at = None
        job.attempts += 1
        job.messages = [*job.messages, _("Retry #%(n)d") % {"n": job.attempts}]
        job.save()
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job
