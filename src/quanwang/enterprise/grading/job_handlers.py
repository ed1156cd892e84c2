"""Background jobs and nightly steps of the enterprise grading part: the re-grade job
(JobKind.REGRADE_ACCOUNTS) and the nightly step that computes the account features and grades
the newest month."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext_lazy

from quanwang.core import nightly
from quanwang.core.choices import JobKind
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import RESULT_LABELS, JobContext, register
from quanwang.data.warehouse import Warehouse
from quanwang.enterprise.choices import AccountGrade
from quanwang.enterprise.grading import kept
from quanwang.enterprise.grading.regrading import regrade
from quanwang.insight.choices import Engine

logger = logging.getLogger(__name__)

RESULT_LABELS.update(
    {
        "accounts_graded": gettext_lazy("Accounts graded"),
        "grade_a": gettext_lazy("Grade A accounts"),
        "grade_b": gettext_lazy("Grade B accounts"),
        "grade_c": gettext_lazy("Grade C accounts"),
        "features_seconds": gettext_lazy("Seconds computing the account features"),
    }
)


def result_of(run: Any) -> dict[str, Any]:
    return {
        "month": run.month,
        "accounts_graded": run.accounts,
        "grade_a": run.by_grade.get(str(AccountGrade.A), 0),
        "grade_b": run.by_grade.get(str(AccountGrade.B), 0),
        "grade_c": run.by_grade.get(str(AccountGrade.C), 0),
        "features_seconds": getattr(run, "features_seconds", 0),
        "seconds": run.seconds,
    }


@register(JobKind.REGRADE_ACCOUNTS)
def regrade_accounts(ctx: JobContext, *, month: str | None = None) -> dict[str, Any]:
    """Compute the account features and grade every account for `month`."""

    def say(stage: str) -> None:
        ctx.progress(stage=stage)

    run = regrade(month=month, actor=ctx.job.created_by, progress=say)
    return result_of(run)


@nightly.after_snapshot("enterprise.grading", gettext_lazy("Account features and grades"))
def nightly_grading(snapshot: Any) -> dict[str, Any] | None:
    """After the customer snapshot: the features and grades of the newest month of usage that
    is not after the snapshot's, on the snapshot's engine."""
    store = Warehouse()
    if store.read_file("enterprises") is None:
        return {"accounts_graded": 0}
    newest = kept.newest_usage_month(store)
    if newest is None:
        return {"accounts_graded": 0}
    month = getattr(snapshot, "month", None)
    chosen = min(newest, str(month)) if month else newest
    engine = Engine(getattr(snapshot, "engine", Engine.DUCKDB))
    try:
        run = regrade(month=chosen, engine=engine, warehouse=store)
    except ServiceError:
        logger.info("no usage for %s; grading %s", chosen, newest)
        run = regrade(month=newest, engine=engine, warehouse=store)
    return result_of(run)
