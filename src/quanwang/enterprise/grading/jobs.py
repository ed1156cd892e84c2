"""Starting the monthly re-grade as a background job (JobKind.REGRADE_ACCOUNTS; the handler:
enterprise.grading.job_handlers)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from quanwang.core.choices import JOB_LIVE, Action, JobKind
from quanwang.core.errors import NotFound
from quanwang.core.models import Job, OrgUnit
from quanwang.core.services.jobs import start_job
from quanwang.enterprise.grading.regrading import parse_month
from quanwang.enterprise.grading.rules import may_set_rules


def start_regrade(*, actor: Any, month: str | None, background: bool = True) -> Job:
    """Queue the re-grade of `month` (None: the newest); a second request while one for the
    month is queued or running gets that job (two clicks start one)."""
    if not may_set_rules(actor, Action.CHANGE):
        raise NotFound()
    chosen = str(parse_month(month)) if month else ""
    root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    with transaction.atomic():
        # The root's row serialises the check and the start (two clicks at once).
        if root is not None:
            OrgUnit.objects.select_for_update().filter(pk=root.pk).first()
        live = (
            Job.objects.filter(kind=JobKind.REGRADE_ACCOUNTS, status__in=JOB_LIVE)
            .filter(params__month=chosen or None)
            .order_by("pk")
            .first()
        )
        if live is not None:
            return live
        return start_job(
            actor=actor,
            kind=JobKind.REGRADE_ACCOUNTS,
            org_unit=root,
            params={"month": chosen or None},
            background=background,
        )
