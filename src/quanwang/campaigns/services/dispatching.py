"""Dispatching a step of an issued campaign (推广)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.campaigns.channels.base import ChannelNotConfigured
from quanwang.campaigns.channels.config import check_channel, not_configured_message
from quanwang.campaigns.choices import CampaignState, Channel, DispatchState, ExclusionRule
from quanwang.campaigns.dispatch import DispatchError, step_dir
from quanwang.campaigns.ledger import job_is_live, locked_step
from quanwang.campaigns.models import Campaign, DispatchStep
from quanwang.campaigns.services.access import visible
from quanwang.core.choices import Action, JobKind
from quanwang.core.errors import ServiceError
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job

S = CampaignState


DISPATCHABLE = frozenset({S.ISSUED, S.RUNNING})
#: DispatchStep.step's length.
STEP_NAME_MAX = 40


def start_dispatch(
    *,
    actor: Any,
    campaign: Campaign,
    step: str,
    channel: Channel,
    text: str,
    send_at: dt.datetime | None = None,
    background: bool = True,
) -> Job:
    """Queue (or run) the dispatch of one step of an issued campaign on one channel.

    A step is sent once: while its job is queued (deferred to the sending hours included) or
    running, every request for the step gets that same job back, whether it came from the
    console, the API or the command line. Once the job has ended, a request queues a new one,
    which resumes the step: it sends only what no run has sent. Without `send_at`, the
    contact policy applies at the moment the job runs."""
    locked = visible(actor, Action.CHANGE).filter(pk=campaign.pk).first()
    if locked is None:
        raise ServiceError(_("You may not dispatch this campaign."))
    if locked.state not in DISPATCHABLE or not locked.audience_path:
        raise ServiceError(
            _("Only an issued or running campaign is dispatched; this one is %(state)s.")
            % {"state": S(locked.state).label}
        )
    if str(channel) not in locked.channels:
        raise ServiceError(
            _("%(channel)s is not one of this campaign's channels.") % {"channel": channel.label},
            field="channel",
        )
    if not text.strip():
        raise ServiceError(_("Write the message."), field="text")
    try:
        # Before any job: a channel that cannot send is one plain line now, not a failed job.
        check_channel(channel)
    except ChannelNotConfigured as exc:
        raise ServiceError(not_configured_message(channel, exc.problem), field="channel") from exc
    try:
        step_dir(locked.pk, step)
    except DispatchError as exc:
        raise ServiceError(
            _("Name the step with letters, digits, '-' or '_', e.g. s1."), field="step"
        ) from exc
    if len(step) > STEP_NAME_MAX:
        raise ServiceError(
            _("A step's name has at most %(n)d characters.") % {"n": STEP_NAME_MAX}, field="step"
        )
    with transaction.atomic():
        # The step's row, locked: a concurrent request for the step waits here, then sees the
        # job this one queued (on SQLite the transaction holds the write lock from its start).
        row = locked_step(campaign=locked, step=step, channel=channel, text=text)
        if row.channel != str(channel) or row.text != text:
            raise ServiceError(
                _(
                    "Step %(step)s was already sent on %(channel)s with another message; "
                    "give this message a step name of its own."
                )
                % {"step": step, "channel": Channel(row.channel).label},
                field="step",
            )
        current = row.job
        if current is not None and job_is_live(current):
            return current
        job = start_job(
            actor=actor,
            kind=JobKind.DISPATCH_CAMPAIGN,
            org_unit=locked.org_unit,
            params={
                "campaign_id": locked.pk,
                "step": step,
                "channel": str(channel),
                "text": text,
                "send_at": send_at.isoformat() if send_at else None,
            },
            background=background,
        )
        row.job, row.state = job, DispatchState.QUEUED
        row.save(update_fields=["job", "state", "updated_at"])
    return job


@dataclass(frozen=True)
class StepRow:
    """One step on the campaign's page."""

    step: DispatchStep
    state: str
    held_back: str


def dispatch_steps(*, campaign: Campaign) -> list[StepRow]:
    """The campaign's steps with their counts, deferrals and jobs, for its page."""
    rows = []
    for step in DispatchStep.objects.filter(campaign=campaign).select_related("job"):
        state = str(DispatchState(step.state).label)
        if step.state == DispatchState.SENDING and not job_is_live(step.job):
            # Its run died; its job is (or will be) marked interrupted, to retry.
            state = _("Interrupted: retry its job, or dispatch the step again")
        held = "; ".join(
            f"{ExclusionRule(rule).label} {count}"
            for rule, count in sorted(step.excluded.items())
            if rule != ExclusionRule.QUIET_HOURS
        )
        rows.append(StepRow(step=step, state=state, held_back=held))
    return rows
