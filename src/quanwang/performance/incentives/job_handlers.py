"""Job handlers of performance.incentives: the monthly statement run (registered on import)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.core.choices import JobKind
from quanwang.core.jobs import RESULT_LABELS, JobContext, register
from quanwang.performance.incentives.services.statements import run_month

RESULT_LABELS.update(
    {
        "unchanged": gettext_lazy("Statements recomputed with the same lines"),
        "frozen": gettext_lazy("Statements already approved (kept as they are)"),
        "without_rules": gettext_lazy("Staff without incentive rules in force"),
        "actuals_version": gettext_lazy("Actuals version"),
        "as_of": gettext_lazy("Figures as of"),
    }
)


@register(JobKind.RUN_INCENTIVES)
def run_incentives(ctx: JobContext, *, month: str) -> dict[str, Any]:
    """Compute `month`'s incentive statements; a retry computes them again from the facts,
    with the same lines when the facts are the same."""
    ctx.progress(stage=_("Computing the incentive statements"))

    def report(done: int, total: int) -> None:
        ctx.progress(done=done, total=total)

    actor = ctx.job.created_by
    return run_month(actor=actor, month=month, progress=report)
