"""Starting a proposal run as a job (JobKind.PROPOSE_GRADE_MOVES; the handler:
grades.job_handlers)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from quanwang.core.choices import JOB_LIVE, Action, JobKind, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job, OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.core.services.jobs import start_job
from quanwang.performance import periods
from quanwang.performance.grades.services.rule_sets import root_unit


def start_propose(*, actor: Any, period: str, background: bool = True) -> Job:
    """Queue the proposals for `period`; a second request while one for the period is queued
    or running gets that job (two clicks start one)."""
    if not has_grant(actor, resource=Resource.STAFF_GRADE, action=Action.APPROVE):
        raise NotFound()
    try:
        code = periods.parse(period).code
    except periods.PeriodError as exc:
        raise ServiceError(str(exc), field="period") from exc
    root = root_unit()
    with transaction.atomic():
        # The root's row serialises the check and the start.
        if root is not None:
            OrgUnit.objects.select_for_update().filter(pk=root.pk).first()
        live = (
            Job.objects.filter(kind=JobKind.PROPOSE_GRADE_MOVES, status__in=JOB_LIVE)
            .filter(params__period=code)
            .order_by("pk")
            .first()
        )
        if live is not None:
            return live
        return start_job(
            actor=actor,
            kind=JobKind.PROPOSE_GRADE_MOVES,
            org_unit=root,
            params={"period": code},
            background=background,
        )
