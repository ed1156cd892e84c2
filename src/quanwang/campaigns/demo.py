"""The demo operator's campaigns: the offer catalogue (the province's, a city's and a
district's), a segment, a draft campaign, and a city campaign in execution whose grids have
recorded outcomes, some of them behind their quota's pace, so the roll-up and its early
warnings (预警) show as soon as the console opens; then a county's campaign issued to its
stores (demo_stores).

The running campaign is designed, approved, issued and started as of its window's first day
(`RUNNING_FOR` days before the demo is built), through the same services a user goes
through; its task step goes to the grids' lists that day, and its outcomes are recorded on
the days since, through the task list's own service. The warnings are then raised for the
demo's day by the early-warning run (the campaign-warnings command's use case), from those
outcomes alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from quanwang.campaigns.channels.config import sandbox_channels
from quanwang.campaigns.choices import CampaignType, Channel, ContactOutcome, OfferType
from quanwang.campaigns.demo_stores import build_store_campaign
from quanwang.campaigns.models import Campaign, Offer, Quota, SegmentVersion
from quanwang.campaigns.policy import SHANGHAI
from quanwang.campaigns.segments import save_segment
from quanwang.campaigns.services import Design, create_campaign, start_dispatch, transition
from quanwang.campaigns.services.progress import elapsed_share
from quanwang.campaigns.tasks import record_outcome, task_steps
from quanwang.campaigns.warnings import raise_warnings
from quanwang.core.choices import JobStatus, OrgLevel
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import execute_job
from quanwang.core.models import OrgUnit

Say = Callable[[str], Any]

DEMO_CAMPAIGN = "合约到期维系（示例）"
DEMO_SEGMENT = "合约3个月内到期的中高价值客户"
DEMO_RUNNING = "合约续约网格攻坚（示例，执行中）"
#: The running campaign's window: it started this many days before the demo's day and ends
#: this many after, two thirds through, past the share of the window from which units
#: behind pace are warned (settings.QUANWANG_EARLY_WARNING, half by default).
RUNNING_FOR = 20
RUNNING_LEFT = 10
#: What each grid has achieved of the takers its quota asks for by now: the demo grid
#: manager's grid and every seventh grid after it lag far behind (warned), one in five a
#: little behind (under pace, above the warning line), the rest on or ahead of pace.
BEHIND, LAGGING, ON_PACE = 0.3, 0.75, (1.0, 1.1, 1.25)
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
                # In force for a quarter already: the running demo campaign used it.
                "monthly_revenue_change": Decimal(monthly),
                "valid_from": today - dt.timedelta(days=90),
                "valid_until": today + dt.timedelta(days=365), "org_unit": unit,
            },
        )  # fmt: skip
        seeded.append(offer)
    return seeded


def build_campaign_demo(*, say: Say) -> None:
    root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    if root is None:
        say("  no org tree: campaigns skipped")
        return
    today = timezone.localdate()
    seed_offer_catalogue(root=root, today=today)
    version = _demo_segment(root)
    if Campaign.objects.filter(name=DEMO_CAMPAIGN).exists():
        say(f"  campaign {DEMO_CAMPAIGN} already there")
    else:
        _draft_campaign(root=root, version=version, today=today, say=say)
    if Campaign.objects.filter(name=DEMO_RUNNING).exists():
        say(f"  campaign {DEMO_RUNNING} already there")
    else:
        try:
            build_running_campaign(version=version, today=today, say=say)
        except ServiceError as exc:
            # The rest of the demo stands without it; say why, in the deployment's words.
            say(f"  running campaign skipped: {exc.message}")
    try:
        build_store_campaign(version=version, today=today, say=say)
    except ServiceError as exc:
        say(f"  campaign through the stores skipped: {exc.message}")


def _demo_segment(root: OrgUnit) -> SegmentVersion:
    existing = (
        SegmentVersion.objects.filter(segment__name=DEMO_SEGMENT, segment__org_unit=root)
        .order_by("-number")
        .first()
    )
    if existing is not None:
        return existing
    return save_segment(
        actor=None,
        name=DEMO_SEGMENT,
        rule={
            "all": [
                {"field": "contract_expiring_3m", "op": "is", "value": True},
                {"field": "arpu_3m", "op": ">=", "value": 50},
            ]
        },
        org_unit=root,
    )


def _draft_campaign(*, root: OrgUnit, version: SegmentVersion, today: dt.date, say: Say) -> None:
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


def _login(username: str) -> Any:
    """A demo login (data.demo), or None (the system) where the demo has none."""
    return get_user_model().objects.filter(username=username, is_active=True).first()


def build_running_campaign(*, version: SegmentVersion, today: dt.date, say: Say) -> Campaign:
    """The first city's campaign, in execution since `RUNNING_FOR` days before `today`: its
    grids' outcomes recorded, its early warnings raised for `today`."""
    city = OrgUnit.objects.filter(level=OrgLevel.CITY).order_by("path").first()
    if city is None:
        raise ServiceError("the org tree has no city")
    marketer, approver = _login("city_marketer"), _login("admin")
    start = today - dt.timedelta(days=RUNNING_FOR)
    end = today + dt.timedelta(days=RUNNING_LEFT)
    offers = list(Offer.objects.filter(code=f"{city.code}-SUB-20")) or list(
        Offer.objects.filter(code="SUB-30")
    )
    campaign = create_campaign(
        actor=marketer,
        org_unit=city,
        design=Design(
            name=DEMO_RUNNING,
            campaign_type=CampaignType.RETENTION,
            hypothesis="网格经理逐户回访合约将到期的中高价值客户并给予续约补贴，可提升续约率",
            objective_metric="续约客户数",
            objective_target=Decimal("150"),
            objective_deadline=end,
            segment_version=version,
            offers=offers,
            channels=[Channel.TASK],
            starts_on=start,
            ends_on=end,
            budget=Decimal("30000"),
        ),
        today=start,
    )
    try:
        _execute(campaign=campaign, marketer=marketer, approver=approver, start=start)
    except ServiceError:
        # Nothing half-built stays behind to be taken for the demo next time.
        Campaign.objects.filter(pk=campaign.pk).delete()
        raise
    campaign.refresh_from_db()
    recorded = _record_outcomes(campaign=campaign, first_morning=_first_morning(start), today=today)
    with _sandbox_for_warnings():
        raised = raise_warnings(campaign=campaign, today=today)
    behind = sorted({r.warning.org_unit.name for r in raised})
    say(
        f"  campaign running #{campaign.pk} {campaign.name}: {recorded:,} outcomes recorded, "
        f"{len(behind)} grids behind plan warned ({', '.join(behind[:5])}"
        f"{' …' if len(behind) > 5 else ''})"
    )
    return campaign


def _execute(*, campaign: Campaign, marketer: Any, approver: Any, start: dt.date) -> None:
    """Submit, approve, issue and start the campaign as of `start`, and send its task step to
    the grids' lists that morning."""
    # The city marketer submits knowing the estimate (a small city may expect a loss: the
    # acknowledgement is then on the history, as a marketer's would be).
    transition(
        actor=marketer, campaign=campaign, move="submit", comment="请审批", acknowledge_loss=True
    )
    transition(actor=approver, campaign=campaign, move="approve", comment="同意")
    transition(actor=marketer, campaign=campaign, move="issue", today=start)
    transition(actor=marketer, campaign=campaign, move="start")
    job = start_dispatch(
        actor=marketer, campaign=campaign, step="t1", channel=Channel.TASK,
        text="上门或电话回访合约将到期的客户，介绍续约话费补贴", send_at=_first_morning(start),
        background=False,
    )  # fmt: skip
    job = execute_job(job_id=job.pk)
    if job.status != JobStatus.SUCCEEDED:
        raise ServiceError(f"the task step was not sent: {job.error}")


def _first_morning(start: dt.date) -> dt.datetime:
    return dt.datetime.combine(start, dt.time(10, 0), tzinfo=SHANGHAI)


def _order(subscriber_id: str) -> str:
    """A stable, shuffled order of a grid's customers: whom the grid got to first."""
    return hashlib.sha256(subscriber_id.encode()).hexdigest()


def _record_outcomes(*, campaign: Campaign, first_morning: dt.datetime, today: dt.date) -> int:
    """Each grid's outcomes so far: as many takers as its pace calls for (`BEHIND`,
    `LAGGING`, `ON_PACE`) of what its quota expects by `today`, twice as many reached who
    did not take it (contacted, refused) and a few unreachable, spread over the days since
    the start, recorded through the task list's service by the grid's own managers."""
    [step] = task_steps(campaign.pk)[:1]
    listed: dict[str, list[str]] = {}
    for row in pq.read_table(step.plan, columns=["subscriber_id", "grid_id"]).to_pylist():
        if row["grid_id"]:
            listed.setdefault(row["grid_id"], []).append(row["subscriber_id"])
    quotas = Quota.objects.filter(campaign=campaign, account_manager__isnull=True).select_related(
        "org_unit"
    )
    elapsed = elapsed_share(campaign=campaign, day=today)
    days = max((today - campaign.starts_on).days, 1)
    recorders = {
        unit_path: user
        for unit_path, user in (
            (_assigned_path("grid_manager"), _login("grid_manager")),
            (_assigned_path("county_manager"), _login("county_manager")),
        )
        if unit_path and user is not None
    }
    demo_grid = _assigned_path("grid_manager")
    recorded = 0
    for index, quota in enumerate(quotas.order_by("org_unit__path")):
        grid = quota.org_unit
        if grid.path == demo_grid or index % 7 == 3:
            pace = BEHIND
        elif index % 5 == 1:
            pace = LAGGING
        else:
            pace = ON_PACE[index % len(ON_PACE)]
        customers = sorted(listed.get(grid.code, []), key=_order)
        takers = min(round(quota.target * elapsed * pace), len(customers))
        others = customers[takers : takers * 3 + 2]
        plan = [(sid, ContactOutcome.ACCEPTED) for sid in customers[:takers]] + [
            (
                sid,
                (ContactOutcome.CONTACTED, ContactOutcome.REFUSED, ContactOutcome.UNREACHABLE)[
                    n % 3
                ],
            )
            for n, sid in enumerate(others)
        ]
        actor = next(
            # The nearest manager: the grid's own, else its county's.
            (
                user
                for path, user in sorted(recorders.items(), key=lambda held: -len(held[0]))
                if grid.path.startswith(path)
            ),
            None,
        )
        for n, (subscriber_id, outcome) in enumerate(plan):
            # On the days since the start, between 10:00 and 17:00, never today.
            at = first_morning + dt.timedelta(days=n % days, minutes=7 * (n % 60))
            record_outcome(
                actor=actor, campaign=campaign, subscriber_id=subscriber_id, outcome=outcome,
                at=at,
            )  # fmt: skip
            recorded += 1
    return recorded


def _assigned_path(username: str) -> str | None:
    """The org unit path where a demo login holds its role (its first)."""
    user = _login(username)
    if user is None:
        return None
    assignment = user.role_assignments.select_related("org_unit").order_by("org_unit__path").first()
    return assignment.org_unit.path if assignment else None


@contextmanager
def _sandbox_for_warnings() -> Iterator[None]:
    """In demo mode, the sandbox SMS gateway while the demo's warnings go out, so that they
    reach the managers' phones in its inbox as they would from the console (the SMS is sent
    after the warning's commit, within the block). Where its port is taken, the sandbox of a
    running `quanwang serve` answers instead; outside demo mode nothing is started."""
    if str(Channel.SMS) not in sandbox_channels():
        yield
        return
    from quanwang.campaigns.sandbox.gateway import make_sandbox_server

    try:
        server = make_sandbox_server(
            port=settings.QUANWANG_SANDBOX_PORT, console_url="http://127.0.0.1:8000"
        )
    except OSError:
        yield
        return
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=5)
