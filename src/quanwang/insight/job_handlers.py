"""Job handlers of the insight app."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext_lazy as _

from quanwang.core import nightly
from quanwang.core.choices import JobKind
from quanwang.core.jobs import (
    RESULT_CODE_LABELS,
    RESULT_LABELS,
    USER_FACING_ERRORS,
    JobContext,
    register,
)
from quanwang.insight.choices import Engine
from quanwang.insight.churn import ModelError
from quanwang.insight.engines import EngineUnavailable
from quanwang.insight.months import MonthError
from quanwang.insight.pipeline import (
    PipelineError,
    Step,
    keep_console_figures,
    run_pipeline,
    train_churn_model,
)
from quanwang.insight.services import org_grids

STEPS = {
    Step.CHECKING: _("Checking the inputs"),
    Step.COMPUTING: _("Computing features, tiers and scores"),
    Step.KEEPING: _("Working out the console's figures"),
    Step.DONE: _("Done"),
}

# The results of the two jobs on their page (build_snapshot's and train_churn's keys).
RESULT_LABELS.update(
    {
        "snapshot": _("Snapshot"),
        "rows": _("Customers"),
        "engine": _("Engine"),
        "model": _("Model"),
        "top_decile_lift": _("Top-decile lift"),
        "validation_month": _("Validation month"),
        "steps_failed": _("Steps that failed (see the log)"),
    }
)
RESULT_LABELS["auc"] = "AUC"
RESULT_CODE_LABELS["engine"] = {str(engine): engine.label for engine in Engine}

logger = logging.getLogger(__name__)

# Their messages are translated and name the month, table or feature at fault: the job page
# shows them.
USER_FACING_ERRORS.extend([PipelineError, ModelError, MonthError, EngineUnavailable])


@register(JobKind.RUN_PIPELINE)
def build_snapshot(ctx: JobContext, *, month: str, engine: str = Engine.DUCKDB) -> dict[str, Any]:
    """Build the customer wide table of one month as a new snapshot."""

    def report(step: Step, done: int, total: int) -> None:
        # One step more: the console's figures, once the snapshot is complete.
        if step is not Step.DONE:
            ctx.progress(done=done, total=total + 1, stage=str(STEPS[step]))

    # What the snapshot reads, prepared by other apps (core.nightly): the grid assignment.
    before = nightly.run_before_snapshot(engine=str(Engine(engine)))
    units = org_grids()
    snapshot = run_pipeline(month=month, engine=Engine(engine), progress=report, units=units)
    ctx.progress(done=2, total=3 + len(nightly.steps()), stage=str(STEPS[Step.KEEPING]))
    try:
        keep_console_figures(snapshot, units=units)
    except Exception:
        # The snapshot is complete and usable without them: the pages then work their figures
        # out from the wide tables on request. The failure is logged, not the job's.
        logger.exception("keeping the console's figures of snapshot %s failed", snapshot.label)
    later = nightly.steps()
    total = 3 + len(later)

    def announce(step: nightly.AfterSnapshotStep) -> None:
        ctx.progress(done=3 + later.index(step), total=total, stage=str(step.label))

    # What other apps compute from the snapshot (core.nightly): grid scorecards, funnels…
    after = nightly.run_after_snapshot(snapshot, progress=announce)
    ctx.progress(done=total, total=total, stage=str(STEPS[Step.DONE]))
    result: dict[str, Any] = {
        "snapshot": snapshot.label,
        "rows": snapshot.rows,
        "engine": snapshot.engine,
        "seconds": snapshot.seconds,
    }
    failed = [str(step.label) for step in nightly.steps_before() if "failed" in before[step.name]]
    failed += [str(step.label) for step in later if "failed" in after[step.name]]
    if failed:
        # The snapshot stands; the page names what to look at (the log has the traceback).
        result["steps_failed"] = ", ".join(failed)
    return result


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
