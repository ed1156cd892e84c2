"""Starting the monthly re-grade as a background job (JobKind.REGRADE_ACCOUNTS; the handler:
enterprise.grading.job_handlers)."""

from __future__ import annotations

from typing import Any

from quanwang.core.choices import Action, JobKind
from quanwang.core.errors import NotFound
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job_once
from quanwang.enterprise.grading.regrading import parse_month
from quanwang.enterprise.grading.rules import may_set_rules


def start_regrade(*, actor: Any, month: str | None, background: bool = True) -> Job:
    """Queue the re-grade of `month` (None: the newest); a second request while one for the
    month is queued or running gets that job (two clicks start one)."""
    if not may_set_rules(actor, Action.CHANGE):
        raise NotFound()
    chosen = str(parse_month(month)) if month else ""
    return start_job_once(
        actor=actor,
        kind=JobKind.REGRADE_ACCOUNTS,
        params={"month": chosen or None},
        background=background,
    )
