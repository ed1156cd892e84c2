"""Job handlers of the insight app."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import JobKind
from quanwang.core.jobs import JobContext, register
from quanwang.insight.choices import Engine
from quanwang.insight.pipeline import Step, run_pipeline

STEPS = {
    Step.CHECKING: _("Checking the inputs"),
    Step.COMPUTING: _("Computing features, tiers and scores"),
    Step.DONE: _("Done"),
}


@register(JobKind.RUN_PIPELINE)
def build_snapshot(ctx: JobContext, *, month: str, engine: str = Engine.DUCKDB) -> dict[str, Any]:
    """Build the customer wide table of one month as a new snapshot."""

    def report(step: Step, done: int, total: int) -> None:
        ctx.progress(done=done, total=total, stage=str(STEPS[step]))

    snapshot = run_pipeline(month=month, engine=Engine(engine), progress=report)
    return {
        "snapshot": snapshot.label,
        "rows": snapshot.rows,
        "engine": snapshot.engine,
        "seconds": snapshot.seconds,
    }
