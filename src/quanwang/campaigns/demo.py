"""The demo operator's campaigns: the offer catalogue (the province's, a city's and a
district's), a segment and a draft campaign."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils import timezone

from quanwang.campaigns.choices import CampaignType, Channel, OfferType
from quanwang.campaigns.models import Campaign, Offer
from quanwang.campaigns.segments import save_segment
from quanwang.campaigns.services import Design, create_campaign
from quanwang.core.choices import OrgLevel
from quanwang.core.models import OrgUnit

DEMO_CAMPAIGN = "合约到期维系（示例）"
# One offer per promotion tool: code, name, tool, cost per taker, monthly revenue change.
CATALOGUE = (
    ("GIFT-EARBUDS", "续约送蓝牙耳机", OfferType.GIFT, "80", "0"),
    ("PTS-2000", "赠送2000积分", OfferType.POINTS, "20", "0"),
    ("SUB-30", "合约续约话费补贴30元", OfferType.SUBSIDY, "30", "0"),
    ("RED-10", "5G升档红包10元", OfferType.RED_PACKET, "10", "20"),
    ("VIP-MONTH", "视频会员月卡", OfferType.MEMBERSHIP, "15", "10"),
    ("TIE-DOUBLE11", "双十一流量翻倍", OfferType.TIE_IN, "5", "5"),
    ("LOT-PHONE", "办理即抽5G手机", OfferType.LOTTERY, "3", "0"),
    ("BDL-BB", "融合宽带首年半价", OfferType.BUNDLED_SALE, "120", "39"),
    ("DIST-SHOP", "社会渠道分销酬金", OfferType.DISTRIBUTION, "50", "0"),
)
# The first city's and its first district's own offers (what the demo's city marketer and
# county manager log in to), coded after the unit: suffix, name, tool, cost, monthly change.
CITY_OFFER = ("SUB-20", "本市合约续约话费补贴20元", OfferType.SUBSIDY, "20", "0")
COUNTY_OFFER = ("GIFT-STORE", "到本区营业厅办理送礼品", OfferType.GIFT, "25", "0")


def seed_offer_catalogue(*, root: OrgUnit, today: dt.date) -> list[Offer]:
    """The province's catalogue (one offer per promotion tool), one offer of the first city
    and one of that city's first district. Run again, it updates them in place."""
    owned = [(root, *row) for row in CATALOGUE]
    city = OrgUnit.objects.filter(level=OrgLevel.CITY).order_by("path").first()
    if city is not None:
        suffix, *rest = CITY_OFFER
        owned.append((city, f"{city.code}-{suffix}", *rest))
        county = (
            OrgUnit.objects.filter(level=OrgLevel.COUNTY, path__startswith=city.path)
            .order_by("path")
            .first()
        )
        if county is not None:
            suffix, *rest = COUNTY_OFFER
            owned.append((county, f"{county.code}-{suffix}", *rest))
    seeded = []
    for unit, code, name, tool, cost, monthly in owned:
        offer, _created = Offer.objects.update_or_create(
            code=code,
            defaults={
                "name": name, "offer_type": tool, "cost_per_taker": Decimal(cost),
                "monthly_revenue_change": Decimal(monthly), "valid_from": today,
                "valid_until": today + dt.timedelta(days=365), "org_unit": unit,
            },
        )  # fmt: skip
        seeded.append(offer)
    return seeded


def build_campaign_demo(*, say: Callable[[str], Any]) -> None:
    root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    if root is None:
        say("  no org tree: campaigns skipped")
        return
    today = timezone.localdate()
    seed_offer_catalogue(root=root, today=today)
    if Campaign.objects.filter(name=DEMO_CAMPAIGN).exists():
        say(f"  campaign {DEMO_CAMPAIGN} already there")
        return
    version = save_segment(
        actor=None,
        name="合约3个月内到期的中高价值客户",
        rule={
            "all": [
                {"field": "contract_expiring_3m", "op": "is", "value": True},
                {"field": "arpu_3m", "op": ">=", "value": 50},
            ]
        },
        org_unit=root,
    )
    start = today + dt.timedelta(days=1)
    campaign = create_campaign(
        actor=None,
        org_unit=root,
        design=Design(
            name=DEMO_CAMPAIGN,
            campaign_type=CampaignType.RETENTION,
            hypothesis="合约到期前给予话费补贴并由网格经理回访，可降低到期离网",
            objective_metric="续约客户数",
            objective_target=Decimal("500"),
            objective_deadline=start + dt.timedelta(days=45),
            segment_version=version,
            offers=list(Offer.objects.filter(code="SUB-30")),
            channels=[Channel.SMS, Channel.OUTBOUND_CALL],
            starts_on=start,
            ends_on=start + dt.timedelta(days=45),
            budget=Decimal("50000"),
        ),
    )
    low, mid, high = campaign.estimate["net_revenue"]
    say(
        f"  campaign draft #{campaign.pk} {campaign.name}: {campaign.estimate['treated']:,} "
        f"treated, net revenue ¥{low:,.0f} … ¥{high:,.0f} (expected ¥{mid:,.0f})"
    )
