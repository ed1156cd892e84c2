"""Starting the monthly re-grade as a background job (JobKind.REGRADE_STORES; the handler:
channels.stores.job_handlers)."""

from __future__ import annotations

from typing import Any

from quanwang.channels.stores.regrading import parse_month
from quanwang.channels.stores.rules import may_set_rules
from quanwang.core.choices import Action, JobKind
from quanwang.core.errors import NotFound
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job_once


def start_regrade(*, actor: Any, month: str, background: bool = True) -> Job:
    """Queue the re-grade of `month`; a second request while one for the month is queued or
    running gets that job (two clicks start one)."""
    if not may_set_rules(actor, Action.CHANGE):
        raise NotFound()
    chosen = str(parse_month(month))
    return start_job_once(
        actor=actor, kind=JobKind.REGRADE_STORES, params={"month": chosen}, background=background
    )
