"""Job handlers of the campaigns app."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns import clock
from quanwang.campaigns.choices import Channel, DispatchState, ExclusionRule
from quanwang.campaigns.dispatch import BATCH_SIZE, DispatchError, send_step
from quanwang.campaigns.evaluation import EvaluationError
from quanwang.campaigns.ledger import ClaimLost, StepBusy, StepMismatch, claim_step
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.policy import ContactPolicy
from quanwang.campaigns.services.evaluating import EVALUATION_STEPS, run_evaluation
from quanwang.campaigns.store_quotas import store_quota_table
from quanwang.campaigns.tasks import contact_log
from quanwang.core.choices import JobKind
from quanwang.core.jobs import (
    RESULT_CODE_LABELS,
    RESULT_LABELS,
    USER_FACING_ERRORS,
    JobContext,
    register,
)

# The dispatch job's result on its page (StepReport's fields), and the policy's rules in it.
RESULT_LABELS.update(
    {
        "planned": gettext_lazy("To send"),
        "excluded": gettext_lazy("Held back"),
        "sent": gettext_lazy("Accepted by the gateway"),
        "failed": gettext_lazy("Not sent"),
        "unknown": gettext_lazy("Outcome unknown, not sent again"),
        "batches": gettext_lazy("Batches"),
        "resumed_batches": gettext_lazy("Batches sent by an earlier run"),
        "deferred": gettext_lazy("Waiting for the sending hours"),
        "deferred_until": gettext_lazy("Goes out at"),
        "follow_up_job": gettext_lazy("Job that sends them"),
        "tasks": gettext_lazy("Put on the task lists"),
        # The evaluation job's result (services.evaluating.run_evaluation).
        "campaign_id": gettext_lazy("Campaign"),
        "treated_customers": gettext_lazy("Treated customers"),
        "control_customers": gettext_lazy("Control customers"),
        "uplift_points": gettext_lazy("Response uplift (percentage points)"),
        "uplift_interval": gettext_lazy("Its confidence interval"),
    }
)
RESULT_CODE_LABELS["excluded"] = {str(rule): rule.label for rule in ExclusionRule}

# Their messages are translated and name the step, channel or setting at fault: the job page
# shows them.
USER_FACING_ERRORS.extend([DispatchError, ClaimLost, EvaluationError])


@register(JobKind.DISPATCH_CAMPAIGN)
def dispatch_campaign(
    ctx: JobContext,
    *,
    campaign_id: int,
    step: str,
    channel: str,
    text: str,
    send_at: str | None = None,
    batch_size: int = BATCH_SIZE,
    deferred_from: str | None = None,
) -> dict[str, Any]:
    """Send one step of an issued campaign through the contact policy, under the step's claim;
    a retry resumes. Without `send_at` the policy applies at the moment the job runs. A step
    held back by the quiet hours is queued again for the window's opening (`deferred_from`:
    when that was decided)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    try:
        ledger = claim_step(
            campaign=campaign, step=step, channel=Channel(channel), text=text, job=ctx.job
        )
    except StepMismatch as exc:
        raise DispatchError(str(exc)) from exc
    except StepBusy as exc:
        raise DispatchError(
            _("Step %(step)s is being sent by job #%(job)d; this job sent nothing.")
            % {"step": step, "job": exc.job_id}
        ) from exc
    ctx.progress(stage=_("Applying the contact policy"))

    def report(done: int, total: int) -> None:
        ctx.progress(done=done, total=total, stage=_("Sending"))

    moment = dt.datetime.fromisoformat(send_at) if send_at else clock.now()
    policy = ContactPolicy()
    try:
        result = send_step(
            campaign_id=campaign.pk,
            frozen=Path(campaign.audience_path),
            step=step,
            channel=Channel(channel),
            text=text,
            send_at=moment,
            policy=policy,
            ledger=ledger,
            batch_size=batch_size,
            progress=report,
            seed=campaign.seed,
            # Only outcomes recorded within the caps' month or the cool-off can count.
            task_outcomes=contact_log(
                since=moment - dt.timedelta(days=max(31, policy.cool_off_days))
            ),
            # A campaign issued to stores deals its grids' customers by the stores' quotas.
            store_quotas=store_quota_table(campaign_id=campaign.pk)
            if Channel(channel) == Channel.TASK
            else None,
        )
    except BaseException:
        ledger.release(state=DispatchState.STOPPED)
        raise
    answer = asdict(result)
    if result.deferred_until and result.planned == 0 and result.deferred:
        follow_up = ledger.defer(
            until=dt.datetime.fromisoformat(result.deferred_until),
            deferred=result.deferred,
            job=ctx.job,
        )
        answer["follow_up_job"] = follow_up.pk
    else:
        ledger.release(
            state=DispatchState.DONE, sent=result.sent, failed=result.failed, unknown=result.unknown
        )
    return answer


@register(JobKind.EVALUATE_CAMPAIGN)
def evaluate_campaign(ctx: JobContext, *, campaign_id: int, comment: str = "") -> dict[str, Any]:
    """Evaluate a closed campaign against its control group, write its report and mark it
    evaluated (services.evaluating.run_evaluation); a retry runs it again from the start."""

    def report(done: int, stage: str) -> None:
        ctx.progress(done=done, total=EVALUATION_STEPS, stage=stage)

    return run_evaluation(job=ctx.job, campaign_id=campaign_id, comment=comment, progress=report)
