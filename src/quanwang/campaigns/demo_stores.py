"""The demo's campaign through the channels: the first county's campaign issued to its grids'
stores (下发到网点), with store quotas, its task step dealt to the stores' lists and some
outcomes recorded on them, so the stores' rows of the roll-up, the store task lists and a
partner's own list show as soon as the console opens.

`quanwang demo` runs the campaigns demo before the channels demo, which syncs the store file
(channels.models.Store) from the warehouse's stores table; this demo needs those rows first,
so it runs that sync itself (idempotent: the channels demo's run then changes nothing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.contrib.auth import get_user_model

from quanwang.campaigns.choices import CampaignType, Channel, ContactOutcome
from quanwang.campaigns.models import Campaign, Offer, Quota, SegmentVersion
from quanwang.campaigns.policy import SHANGHAI
from quanwang.campaigns.services import Design, create_campaign, start_dispatch, transition
from quanwang.campaigns.store_quotas import even_shares, issue_to_stores
from quanwang.campaigns.tasks import record_outcome, task_steps
from quanwang.core.choices import JobStatus, OrgLevel
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import execute_job
from quanwang.core.models import OrgUnit

Say = Callable[[str], Any]

DEMO_STORES = "网点融合宽带推广（示例，下发到网点）"
#: The campaign started this many days before the demo's day, and ends this many after.
STARTED = 12
LEFT = 18
#: The share of each grid's treated customers issued to its stores (the rest stay with the
#: grid's own list), and of each store's list recorded so far.
TO_STORES = 0.6
WORKED = 0.4
#: The outcomes recorded on a store's worked customers, in turn.
OUTCOMES = (
    ContactOutcome.ACCEPTED,
    ContactOutcome.CONTACTED,
    ContactOutcome.REFUSED,
    ContactOutcome.ACCEPTED,
    ContactOutcome.UNREACHABLE,
)


def _login(username: str) -> Any:
    return get_user_model().objects.filter(username=username, is_active=True).first()


def _synced_stores(say: Say) -> int:
    """Sync the store file from the warehouse (the channels demo would, after this one)."""
    from quanwang.channels.models import Store
    from quanwang.channels.stores.sync import sync_stores  # channels builds on campaigns

    sync_stores()
    count = Store.objects.filter(active=True).count()
    say(f"  store file synced for the campaign through the stores: {count:,} active stores")
    return count


def build_store_campaign(*, version: SegmentVersion, today: dt.date, say: Say) -> Campaign | None:
    """The first county's campaign issued to its stores, as of `STARTED` days before `today`
    (None, said why, where the demo has no county with stores)."""
    if Campaign.objects.filter(name=DEMO_STORES).exists():
        say(f"  campaign {DEMO_STORES} already there")
        return None
    if not _synced_stores(say):
        say("  campaign through the stores skipped: the warehouse lists no store")
        return None
    from quanwang.channels.models import Store

    county = OrgUnit.objects.filter(level=OrgLevel.COUNTY).order_by("path").first()
    if county is None:
        say("  campaign through the stores skipped: the org tree has no county")
        return None
    stores = list(
        Store.objects.filter(
            active=True, org_unit__level=OrgLevel.GRID, org_unit__path__startswith=county.path
        ).select_related("org_unit")
    )
    if not stores:
        say(f"  campaign through the stores skipped: {county.name} has no store in a grid")
        return None
    manager, approver = _login("county_manager"), _login("admin")
    start, end = today - dt.timedelta(days=STARTED), today + dt.timedelta(days=LEFT)
    campaign = create_campaign(
        actor=manager,
        org_unit=county,
        design=Design(
            name=DEMO_STORES,
            campaign_type=CampaignType.BUNDLE,
            hypothesis="由网点店员向到店及周边客户推荐融合宽带首年半价，可提升融合渗透",
            objective_metric="融合宽带办理数",
            objective_target=Decimal("80"),
            objective_deadline=end,
            segment_version=version,
            offers=list(Offer.objects.filter(code="BDL-BB")),
            channels=[Channel.TASK],
            starts_on=start,
            ends_on=end,
            budget=Decimal("20000"),
        ),
        today=start,
    )
    try:
        _issue_and_send(campaign, manager=manager, approver=approver, start=start, stores=stores)
    except ServiceError:
        # Nothing half-built stays behind to be taken for the demo next time.
        Campaign.objects.filter(pk=campaign.pk).delete()
        raise
    recorded = _record(campaign, actor=manager, start=start, today=today)
    shares = Quota.objects.filter(campaign=campaign, store__isnull=False).count()
    say(
        f"  campaign through the stores #{campaign.pk} {campaign.name}: issued to {shares} "
        f"stores of {county.name}, {recorded:,} outcomes recorded on their lists"
    )
    return campaign


def _issue_and_send(
    campaign: Campaign, *, manager: Any, approver: Any, start: dt.date, stores: list[Any]
) -> None:
    transition(
        actor=manager, campaign=campaign, move="submit", comment="请审批", acknowledge_loss=True
    )
    transition(actor=approver, campaign=campaign, move="approve", comment="同意")
    transition(actor=manager, campaign=campaign, move="issue", today=start)
    campaign.refresh_from_db()
    quotas = Quota.objects.filter(campaign=campaign, store__isnull=True)
    audience = sum(q.audience for q in quotas) or 1
    take_rate = sum(q.target for q in quotas) / audience
    grids = set(quotas.values_list("org_unit__code", flat=True))
    issue_to_stores(
        actor=manager,
        campaign_id=campaign.pk,
        shares=[
            share
            for share in even_shares(
                campaign=campaign,
                stores=[s for s in stores if s.org_unit.code in grids],
                take_rate=take_rate,
                portion=TO_STORES,
            )
            if share.audience > 0
        ],
    )
    transition(actor=manager, campaign=campaign, move="start")
    job = start_dispatch(
        actor=manager, campaign=campaign, step="t1", channel=Channel.TASK,
        text="向到店及周边客户推荐融合宽带首年半价", send_at=_morning(start), background=False,
    )  # fmt: skip
    job = execute_job(job_id=job.pk)
    if job.status != JobStatus.SUCCEEDED:
        raise ServiceError(f"the task step was not sent: {job.error}")


def _morning(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI)


def _record(campaign: Campaign, *, actor: Any, start: dt.date, today: dt.date) -> int:
    """`WORKED` of each store's list recorded (in a stable, shuffled order), in turn
    `OUTCOMES`, on the days since the start, by the county's manager for the stores."""
    [step] = task_steps(campaign.pk)[:1]
    by_store: dict[str, list[str]] = {}
    for row in pq.read_table(step.plan, columns=["subscriber_id", "store_id"]).to_pylist():
        if row["store_id"]:
            by_store.setdefault(str(row["store_id"]), []).append(row["subscriber_id"])
    days = max((today - start).days, 1)
    recorded = 0
    for code in sorted(by_store):
        customers = sorted(by_store[code], key=lambda s: hashlib.sha256(s.encode()).hexdigest())
        for n, subscriber_id in enumerate(customers[: math.ceil(len(customers) * WORKED)]):
            record_outcome(
                actor=actor, campaign=campaign, subscriber_id=subscriber_id,
                outcome=OUTCOMES[n % len(OUTCOMES)],
                # Spread over the days since the start (a week apart), never today.
                at=_morning(start) + dt.timedelta(days=(n * 7) % days, minutes=11 * (n % 40)),
            )  # fmt: skip
            recorded += 1
    return recorded
