"""Job handlers of performance.grades (registered on import): proposing the grade moves of an
appraisal period (JobKind.PROPOSE_GRADE_MOVES).

No nightly step: the moves follow an appraisal period's close, and a run reads every graded
staff member's result for up to eight periods; it is started from the CLI or a job (and is
idempotent, so running it again after a late correction updates the pending proposals)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from quanwang.core.choices import JobKind
from quanwang.core.jobs import RESULT_LABELS, JobContext, register
from quanwang.performance.grades.services.moves import propose_moves

RESULT_LABELS.update(
    {
        "grades_evaluated": gettext_lazy("Staff appraised"),
        "grades_created": gettext_lazy("Moves proposed"),
        "grades_updated": gettext_lazy("Proposals updated"),
        "grades_unchanged": gettext_lazy("Proposals unchanged"),
        "grades_withdrawn": gettext_lazy("Proposals withdrawn"),
        "grades_already_decided": gettext_lazy("Moves already decided"),
        "grades_rule_version": gettext_lazy("Grade rules version"),
    }
)


@register(JobKind.PROPOSE_GRADE_MOVES)
def propose_grade_moves(ctx: JobContext, *, period: str) -> dict[str, Any]:
    """Propose the moves the rules earn after `period`, as the job's creator."""
    ctx.progress(stage=str(gettext_lazy("Reading the appraisal results")))
    done = propose_moves(period=period, by=ctx.job.created_by).as_dict()
    # Prefixed: the result labels are one table for every job kind.
    return {"period": done.pop("period")} | {f"grades_{k}": v for k, v in done.items()}
