"""Job handlers of the insight app."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import JobKind
from quanwang.core.jobs import USER_FACING_ERRORS, JobContext, register
from quanwang.insight.choices import Engine
from quanwang.insight.churn import ModelError
from quanwang.insight.engines import EngineUnavailable
from quanwang.insight.months import MonthError
from quanwang.insight.pipeline import PipelineError, Step, run_pipeline, train_churn_model
from quanwang.insight.services import org_grids

STEPS = {
    Step.CHECKING: _("Checking the inputs"),
    Step.COMPUTING: _("Computing features, tiers and scores"),
    Step.DONE: _("Done"),
}

# Their messages are translated and name the month, table or feature at fault: the job page
# shows them.
USER_FACING_ERRORS.extend([PipelineError, ModelError, MonthError, EngineUnavailable])


@register(JobKind.RUN_PIPELINE)
def build_snapshot(ctx: JobContext, *, month: str, engine: str = Engine.DUCKDB) -> dict[str, Any]:
    """Build the customer wide table of one month as a new snapshot."""

    def report(step: Step, done: int, total: int) -> None:
        ctx.progress(done=done, total=total, stage=str(STEPS[step]))

    snapshot = run_pipeline(month=month, engine=Engine(engine), progress=report, units=org_grids())
    return {
        "snapshot": snapshot.label,
        "rows": snapshot.rows,
        "engine": snapshot.engine,
        "seconds": snapshot.seconds,
    }


@register(JobKind.TRAIN_CHURN)
def train_churn(ctx: JobContext, *, month: str, horizon: int = 1) -> dict[str, Any]:
    """Train and register a churn model on the months up to `month`."""

    def report(step: Step, done: int, total: int) -> None:
        ctx.progress(done=done, total=total, stage=str(STEPS[step]))

    model = train_churn_model(month=month, horizon=horizon, progress=report)
    return {
        "model": model.model_id,
        "auc": round(model.metrics["auc"], 4),
        "top_decile_lift": round(model.metrics["lift_by_decile"][0], 2),
        "validation_month": model.validation_month,
    }
