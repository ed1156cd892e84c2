"""What the campaigns-through-channels tests share: ORM stores, and a campaign written as its
files (frozen audience, task plans, batch files, responses) with hand-chosen facts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from quanwang.campaigns.choices import CampaignState, CampaignType, Channel, OfferType
from quanwang.campaigns.issuing import campaign_dir
from quanwang.campaigns.models import Campaign, Offer, Segment, SegmentVersion
from quanwang.campaigns.responses import responses_file
from quanwang.channels.models import Store
from quanwang.core.models import OrgUnit

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def store(
    code: str, *, grid: OrgUnit, grade: str = "", store_type: str = "合作店", **extra: Any
) -> Store:
    """A store of the store file, in `grid` (its org unit and grid ID)."""
    return Store.objects.create(
        store_id=code,
        name=extra.pop("name", f"{code}店"),
        store_type=store_type,
        grade=grade,
        org_unit=grid,
        grid_id=grid.code,
        **extra,
    )


def campaign_of_files(
    *,
    org_unit: OrgUnit,
    audience: list[tuple[str, str, bool]],
    extra_columns: dict[str, list[Any]] | None = None,
    offer_costs: tuple[str, ...] = ("30", "5"),
    state: CampaignState = CampaignState.RUNNING,
    channels: tuple[str, ...] = (Channel.SMS, Channel.TASK),
    name: str = "渠道测试",
) -> Campaign:
    """An issued campaign whose frozen audience is `audience` (subscriber, grid, in control)
    and whose offers cost `offer_costs` a taker, as rows and files (issuing needs a snapshot;
    what is tested here starts after it)."""
    segment = Segment.objects.create(name=f"seg-{Segment.objects.count()}", org_unit=org_unit)
    version = SegmentVersion.objects.create(
        segment=segment, number=1, rule={}, text_zh="全部", text_en="all"
    )
    campaign = Campaign.objects.create(
        name=name, campaign_type=CampaignType.RETENTION, hypothesis="h", objective_metric="m",
        objective_target=Decimal("1"), objective_deadline=dt.date(2024, 8, 31),
        segment_version=version, channels=[str(c) for c in channels],
        starts_on=dt.date(2024, 7, 1), ends_on=dt.date(2024, 8, 31), budget=Decimal("100"),
        state=state, org_unit=org_unit,
    )  # fmt: skip
    for n, cost in enumerate(offer_costs):
        offer = Offer.objects.create(
            code=f"O{campaign.pk}-{n}", name=f"优惠{n}", offer_type=OfferType.SUBSIDY,
            cost_per_taker=Decimal(cost), valid_from=dt.date(2024, 1, 1),
            valid_until=dt.date(2024, 12, 31), org_unit=org_unit,
        )  # fmt: skip
        campaign.offers.add(offer)
    frozen = campaign_dir(campaign.pk) / "audience.parquet"
    frozen.parent.mkdir(parents=True, exist_ok=True)
    columns: dict[str, Any] = {
        "subscriber_id": pa.array([a[0] for a in audience], pa.string()),
        "grid_id": pa.array([a[1] for a in audience], pa.string()),
        "in_control": pa.array([a[2] for a in audience], pa.bool_()),
        "do_not_disturb": pa.array([False] * len(audience), pa.bool_()),
        "value_tier": pa.array(["regular"] * len(audience), pa.string()),
    }
    for column, values in (extra_columns or {}).items():
        columns[column] = pa.array(values)
    pq.write_table(pa.table(columns), frozen)
    campaign.audience_path = str(frozen)
    campaign.audience_size = len(audience)
    campaign.save(update_fields=["audience_path", "audience_size"])
    return campaign


def task_plan(
    campaign: Campaign,
    rows: list[tuple[str, str, str | None]],
    *,
    step: str = "t1",
    at: dt.datetime = dt.datetime(2024, 7, 2, 10, 0, tzinfo=SHANGHAI),
    managers: list[str | None] | None = None,
) -> Path:
    """A task step's plan (subscriber, grid, store) as dispatch writes it, and its decision."""
    folder = campaign_dir(campaign.pk) / "dispatch" / step
    folder.mkdir(parents=True, exist_ok=True)
    plan = folder / "plan.parquet"
    pq.write_table(
        pa.table(
            {
                "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
                "grid_id": pa.array([r[1] for r in rows], pa.string()),
                "in_control": pa.array([False] * len(rows)),
                "msisdn": pa.array([f"1380000{i:04d}" for i in range(len(rows))], pa.string()),
                "name": pa.array([f"客户{i}" for i in range(len(rows))], pa.string()),
                "store_id": pa.array([r[2] for r in rows], pa.string()),
                "account_manager": pa.array(managers or [None] * len(rows), pa.string()),
            }
        ),
        plan,
    )
    (folder / "decision.json").write_text(
        json.dumps(
            {"send_at": at.isoformat(), "channel": str(Channel.TASK), "text": "上门",
             "excluded": {}, "deferred_until": None}
        )
    )  # fmt: skip
    return plan


def sends(
    campaign: Campaign, rows: list[tuple[str, str, dt.datetime]], *, step: str = "s1"
) -> Path:
    """A batch file of an SMS step: (subscriber, status, sent at)."""
    folder = campaign_dir(campaign.pk) / "dispatch" / step
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "batch-00000.parquet"
    pq.write_table(
        pa.table(
            {
                "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
                "grid_id": pa.array([None] * len(rows), pa.string()),
                "channel": pa.array([str(Channel.SMS)] * len(rows), pa.string()),
                "sent_at": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
                "status": pa.array([r[1] for r in rows], pa.string()),
                "gateway_message_id": pa.array([None] * len(rows), pa.string()),
                "error": pa.array([None] * len(rows), pa.string()),
            }
        ),
        target,
    )
    return target


def responses(campaign: Campaign, rows: list[tuple[str, dt.date | None, float]]) -> Path:
    """The campaign's responses file: (subscriber, responded on, revenue)."""
    target = responses_file(campaign.pk)
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
                "responded_on": pa.array([r[1] for r in rows], pa.date32()),
                "revenue": pa.array([r[2] for r in rows], pa.float64()),
            }
        ),
        target,
    )
    return target
