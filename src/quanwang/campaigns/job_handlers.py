"""Job handlers of the campaigns app."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.dispatch import send_step
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.policy import ContactPolicy
from quanwang.campaigns.tasks import contact_log
from quanwang.core.choices import JobKind
from quanwang.core.jobs import JobContext, register


@register(JobKind.DISPATCH_CAMPAIGN)
def dispatch_campaign(
    ctx: JobContext, *, campaign_id: int, step: str, channel: str, text: str, send_at: str
) -> dict[str, Any]:
    """Send one step of an issued campaign through the contact policy; a retry resumes."""
    campaign = Campaign.objects.get(pk=campaign_id)
    ctx.progress(stage=_("Applying the contact policy"))

    def report(done: int, total: int) -> None:
        ctx.progress(done=done, total=total, stage=_("Sending"))

    moment = dt.datetime.fromisoformat(send_at)
    policy = ContactPolicy()
    result = send_step(
        campaign_id=campaign.pk,
        frozen=Path(campaign.audience_path),
        step=step,
        channel=Channel(channel),
        text=text,
        send_at=moment,
        policy=policy,
        progress=report,
        seed=campaign.seed,
        # Only outcomes recorded within the caps' month or the cool-off can count.
        task_outcomes=contact_log(since=moment - dt.timedelta(days=max(31, policy.cool_off_days))),
    )
    return asdict(result)
