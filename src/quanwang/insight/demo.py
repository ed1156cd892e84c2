"""The demo operator's analysis: a churn model and the snapshot of its last month."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quanwang.core.choices import JobStatus
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job
from quanwang.data.generator import DEFAULT_START_MONTH
from quanwang.insight.churn import TRAIN_MONTHS
from quanwang.insight.months import Month
from quanwang.insight.services import start_pipeline, start_training


class InsightDemoFailed(Exception):
    pass


def _run(job: Job) -> dict[str, Any]:
    finished = execute_job(job_id=job.pk)
    if finished.status != JobStatus.SUCCEEDED:
        raise InsightDemoFailed(finished.error)
    return finished.result or {}


def build_insight_demo(*, months: int, say: Callable[[str], Any]) -> None:
    """Train the churn model when the history is long enough, then build the last snapshot,
    so 客户价值 and customer 360 have scores at once."""
    month = str(Month.parse(DEFAULT_START_MONTH).shift(months - 1))
    if months >= TRAIN_MONTHS + 3:
        model = _run(start_training(actor=None, month=month, org_unit=None, background=False))
        say(
            f"  churn model {model.get('model')}: AUC {model.get('auc')}, "
            f"top-decile lift {model.get('top_decile_lift')}"
        )
    else:
        say(f"  no churn model: {months} months are too few to learn from")
    snapshot = _run(start_pipeline(actor=None, month=month, org_unit=None, background=False))
    say(
        f"  snapshot {month}: {snapshot.get('rows', 0):,} customers  "
        f"{snapshot.get('seconds', 0):.1f} s"
    )
