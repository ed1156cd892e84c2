"""The dispatch overview (营销推广) across the campaigns a user sees: per channel and day what
was sent, delivered, failed and held back by which rule; whether each channel can send; the
outbound call lists to download.

The counts come from the send ledger (DispatchBatch: a batch's size when handed to the
channel, what the gateway accepted and refused) and the steps' plans (DispatchStep.excluded).
"Delivered" is what the gateway accepted (or the call list took): the gateways' delivery
receipts are not read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.db.models import Min, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.channels.base import SendStatus
from quanwang.campaigns.channels.call_list import call_list_book
from quanwang.campaigns.channels.config import ADAPTER_CHANNELS, ChannelStatus, channel_status
from quanwang.campaigns.choices import BatchState, Channel, ExclusionRule
from quanwang.campaigns.dispatch import step_dir
from quanwang.campaigns.models import DispatchBatch, DispatchStep
from quanwang.campaigns.services import visible
from quanwang.core.choices import Action, AuditAction, AuditTarget, PiiKind, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.masking import mask
from quanwang.core.querysets import has_grant
from quanwang.core.services import audit
from quanwang.core.tabular import workbook_bytes

DAYS = 30
CALL_LISTS_SHOWN = 50
#: The order channels are listed in.
CHANNEL_ORDER = {c.value: i for i, c in enumerate(Channel)}
#: The order rules are listed in: the policy's precedence (docs/campaigns-dispatch.md).
RULE_ORDER = (
    ExclusionRule.CONTROL_GROUP, ExclusionRule.OPTED_OUT, ExclusionRule.NO_CONSENT,
    ExclusionRule.NO_RECIPIENT, ExclusionRule.DO_NOT_DISTURB, ExclusionRule.SUPPRESSED,
    ExclusionRule.COOL_OFF, ExclusionRule.MONTHLY_CAP, ExclusionRule.DAILY_CAP,
)  # fmt: skip


@dataclass
class DayRow:
    """One channel on one day. For grid and store tasks `sent` is the tasks put on the lists
    and nothing is delivered or failed."""

    day: dt.date
    channel: Channel
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    unknown: int = 0
    held_back: dict[str, int] = field(default_factory=dict)

    @property
    def is_task(self) -> bool:
        return self.channel == Channel.TASK

    def held_back_by_rule(self) -> list[tuple[str, int]]:
        """(the rule in words, customers), in the policy's order."""
        return [
            (str(rule.label), self.held_back[rule.value])
            for rule in RULE_ORDER
            if self.held_back.get(rule.value)
        ]


def daily_dispatch(*, user: Any, days: int = DAYS, today: dt.date | None = None) -> list[DayRow]:
    """The last `days` days of the campaigns `user` sees, newest day first."""
    since_day = (today or timezone.localdate()) - dt.timedelta(days=days - 1)
    since = timezone.make_aware(dt.datetime.combine(since_day, dt.time.min))
    campaigns = visible(user).values("pk")
    rows: dict[tuple[dt.date, str], DayRow] = {}

    def row(day: dt.date, channel: str) -> DayRow:
        return rows.setdefault((day, channel), DayRow(day=day, channel=Channel(channel)))

    batches = (
        DispatchBatch.objects.filter(dispatch_step__campaign__in=campaigns, claimed_at__gte=since)
        .annotate(day=TruncDate("claimed_at"))
        .values("day", "dispatch_step__channel")
        .annotate(
            sent=Sum("size"),
            delivered=Sum("accepted"),
            failed=Sum("failed"),
            unknown=Sum("size", filter=Q(state=BatchState.UNKNOWN)),
        )
    )
    for found in batches:
        day_row = row(found["day"], found["dispatch_step__channel"])
        day_row.sent += found["sent"] or 0
        day_row.delivered += found["delivered"] or 0
        day_row.failed += found["failed"] or 0
        day_row.unknown += found["unknown"] or 0
    # A step's plan counts on the day it first went out (its first batch), or was made.
    steps = (
        DispatchStep.objects.filter(campaign__in=campaigns)
        .annotate(day=TruncDate(Coalesce(Min("batches__claimed_at"), "created_at")))
        .filter(day__gte=since_day)
        .values("day", "channel", "excluded", "planned")
    )
    for step in steps:
        day_row = row(step["day"], step["channel"])
        if day_row.is_task:
            day_row.sent += step["planned"] or 0
        for rule, count in (step["excluded"] or {}).items():
            # Held back for the sending hours is not held back: they go out when it opens.
            if rule != ExclusionRule.QUIET_HOURS:
                day_row.held_back[rule] = day_row.held_back.get(rule, 0) + int(count)
    return sorted(rows.values(), key=lambda r: (-r.day.toordinal(), CHANNEL_ORDER[r.channel]))


def channel_statuses() -> list[ChannelStatus]:
    return [channel_status(channel) for channel in ADAPTER_CHANNELS]


def call_list_steps(*, user: Any) -> list[DispatchStep]:
    """The outbound call steps with customers on their lists, newest first."""
    return list(
        DispatchStep.objects.filter(
            campaign__in=visible(user).values("pk"), channel=Channel.OUTBOUND_CALL, sent__gt=0
        )
        .select_related("campaign")
        .order_by("-created_at")[:CALL_LISTS_SHOWN]
    )


@dataclass(frozen=True)
class CallList:
    filename: str
    content: bytes
    full_numbers: bool


def call_list(*, user: Any, campaign_id: int, step: str) -> CallList:
    """The step's call list as one workbook: everyone the list took, in the plan's order.
    Numbers and names in full for those who may see customers' personal data (the agents
    dial them), the download audited; masked for the others."""
    campaign = visible(user, Action.CHANGE).filter(pk=campaign_id).first()
    row = (
        DispatchStep.objects.filter(campaign=campaign, step=step, channel=Channel.OUTBOUND_CALL)
        .select_related("campaign__org_unit")
        .first()
        if campaign is not None
        else None
    )
    if row is None:
        raise NotFound()
    folder = step_dir(campaign_id, step)
    plan = folder / "plan.parquet"
    if not plan.exists():
        raise ServiceError(_("This step has no call list yet."))
    full = has_grant(user, resource=Resource.CUSTOMER, action=Action.VIEW_PII)
    people = {
        person["subscriber_id"]: person
        for person in pq.read_table(plan, columns=["subscriber_id", "msisdn", "name"]).to_pylist()
    }
    offers = "、".join(campaign.offers.values_list("name", flat=True))
    rows = []
    for subscriber_id in _listed(folder):
        person = people.get(subscriber_id, {})
        number, name = str(person.get("msisdn") or ""), str(person.get("name") or "")
        if not full:
            number, name = mask(number, PiiKind.MSISDN), mask(name, PiiKind.NAME)
        rows.append((subscriber_id, number, name, row.text, offers))
    if full:
        audit.record(
            actor=user,
            action=AuditAction.EXPORT_PII,
            target=None,
            target_type=AuditTarget.SUBSCRIBER,
            target_repr=f"{campaign.name} / {step}",
            org_unit=campaign.org_unit,
            reason=_("Outbound call list of %(campaign)s, step %(step)s (%(n)d customers)")
            % {"campaign": campaign.name, "step": step, "n": len(rows)},
        )
    return CallList(
        filename=f"call-list-c{campaign_id}-{step}.xlsx",
        content=workbook_bytes(call_list_book(rows)),
        full_numbers=full,
    )


def _listed(folder: Path) -> list[str]:
    """The customers the call lists took, batch by batch, in the plan's order."""
    listed: list[str] = []
    for batch in sorted(folder.glob("batch-*.parquet")):
        table = pq.read_table(batch, columns=["subscriber_id", "status"]).to_pylist()
        listed.extend(r["subscriber_id"] for r in table if r["status"] == SendStatus.ACCEPTED)
    return listed
