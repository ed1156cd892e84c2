"""Job handlers and nightly steps of performance.actuals (registered on import): the job that
computes the actuals (JobKind.COMPUTE_ACTUALS) and the nightly step after each snapshot."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy

from quanwang.core import nightly
from quanwang.core.choices import JobKind
from quanwang.core.jobs import RESULT_LABELS, JobContext, register
from quanwang.insight.choices import Engine
from quanwang.performance.actuals.services import run_actuals

logger = logging.getLogger(__name__)

RESULT_LABELS.update(
    {
        "as_of": gettext_lazy("Figures as of"),
        "rows": gettext_lazy("Values kept"),
        "recomputed": gettext_lazy("KPI-months recomputed"),
        "responsibilities_opened": gettext_lazy("Responsibilities opened"),
        "responsibilities_closed": gettext_lazy("Responsibilities closed"),
    }
)


@register(JobKind.COMPUTE_ACTUALS)
def compute_actuals(
    ctx: JobContext, *, as_of: str | None = None, full: bool = False, engine: str = "duckdb"
) -> dict[str, Any]:
    """Synchronise the responsibilities, then compute and publish the actuals."""
    ctx.progress(stage=str(gettext_lazy("Computing the KPI actuals")))
    day = dt.date.fromisoformat(as_of) if as_of else None
    return run_actuals(as_of=day, full=full, engine=Engine(engine))


@nightly.after_snapshot("performance_actuals", gettext_lazy("KPI actuals"))
def nightly_actuals(snapshot: Any) -> dict[str, Any] | None:
    """After the customer snapshot: the actuals of every KPI on the snapshot's engine,
    incrementally (only the months whose facts changed)."""
    engine = Engine(getattr(snapshot, "engine", Engine.DUCKDB))
    return run_actuals(
        as_of=None, full=False, engine=engine, snapshot=snapshot, synced_on=timezone.localdate()
    )
