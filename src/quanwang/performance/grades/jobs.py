"""Starting a proposal run as a job (JobKind.PROPOSE_GRADE_MOVES; the handler:
grades.job_handlers)."""

from __future__ import annotations

from typing import Any

from quanwang.core.choices import Action, JobKind, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job
from quanwang.core.querysets import has_grant
from quanwang.core.services.jobs import start_job_once
from quanwang.performance import periods


def start_propose(*, actor: Any, period: str, background: bool = True) -> Job:
    """Queue the proposals for `period`; a second request while one for the period is queued
    or running gets that job (two clicks start one)."""
    if not has_grant(actor, resource=Resource.STAFF_GRADE, action=Action.APPROVE):
        raise NotFound()
    try:
        code = periods.parse(period).code
    except periods.PeriodError as exc:
        raise ServiceError(str(exc), field="period") from exc
    return start_job_once(
        actor=actor,
        kind=JobKind.PROPOSE_GRADE_MOVES,
        params={"period": code},
        background=background,
    )
