"""Background jobs of the commissions part: the monthly statement run."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.channels.commissions.services.runs import run_month
from quanwang.core.choices import JobKind
from quanwang.core.jobs import RESULT_LABELS, JobContext, register

RESULT_LABELS.update(
    {
        "month": gettext_lazy("Month"),
        "statements": gettext_lazy("Statements written"),
        "lines": gettext_lazy("Statement lines"),
        "sales": gettext_lazy("Sales read"),
        "cancels": gettext_lazy("Refunds and reversals read"),
        "unmatched_sales": gettext_lazy("Sales no rule covers"),
        "unknown_store_facts": gettext_lazy("Sale lines of stores not in the store file"),
        "frozen_stores": gettext_lazy("Stores already approved for the month (kept)"),
        "waiting_stores": gettext_lazy("Stores waiting for an earlier statement's approval"),
        "later_stores": gettext_lazy("Stores with a statement of a later month (skipped)"),
        "total": gettext_lazy("Total commission (yuan)"),
        "lines_sha256": gettext_lazy("Lines file SHA-256"),
    }
)

STAGES = {
    "facts": gettext_lazy("Reading the sales, refunds and reversals"),
    "rules": gettext_lazy("Matching the commission rules"),
    "components": gettext_lazy("Computing activation, deferred, revenue and clawback parts"),
    "ledger": gettext_lazy("Comparing with what approved statements paid"),
    "writing": gettext_lazy("Writing the statement lines"),
    "statements": gettext_lazy("Saving the statements"),
}


@register(JobKind.RUN_COMMISSIONS)
def run_commissions(ctx: JobContext, *, month: str) -> dict[str, Any]:
    """Compute `month`'s commission statements (services.runs.run_month); a retry computes
    them again from the facts, with the same result when the facts are the same."""
    ctx.progress(stage=_("Taking the month's run"))

    def report(stage: str) -> None:
        ctx.progress(stage=str(STAGES.get(stage, stage)))

    return run_month(job=ctx.job, month=month, progress=report)
