"""The demo operator's visits (built by `quanwang demo`, after the campaigns and the stores).

A `partner` login (合作伙伴) for a partner store or social channel of the demo grid manager's
grid; a month of visits by the demo grid manager (to their grid's stores) and the channel
manager (to the other stores of the first county), some stores left overdue; commitments of
both sides, some kept, one broken, some still open (one overdue); and issues of different
ages and states, one raised by the partner itself. The visits of the warehouse's newest sales
month are added too, so that the grid scorecards of that month show visits against plan.
Running it twice changes nothing: every record has a fixed key."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import duckdb
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from quanwang.channels.choices import StoreType
from quanwang.channels.models import Commitment, PartnerIssue, Store, StoreVisit
from quanwang.channels.visits.choices import (
    CommitmentSide,
    CommitmentStatus,
    IssueCategory,
    IssueSource,
    IssueStatus,
)
from quanwang.channels.visits.services.attainment import month_days
from quanwang.channels.visits.services.plan import Plan
from quanwang.core.choices import Role
from quanwang.core.models import OrgUnit, RoleAssignment, Staff
from quanwang.core.services.demo import DemoLogin, create_logins
from quanwang.data.warehouse import Warehouse

PARTNER_LOGIN = DemoLogin("partner", "林店主", Role.CHANNEL_PARTNER, "", "13800000011")
#: The partner's own staff record: create_logins would otherwise name one DEMO000 after the
#: login's place in its list, which is the admin's.
PARTNER_EMPLOYEE_NO = "PARTNER001"
KEYS = uuid.UUID("6f1c8d2e-3b7a-4c55-9e0f-5a1d2c3b4e6f")
SEED = 2024
#: Stores of the first county visited (the rest stay never visited: the due list shows them).
VISITED_STORES = 24
#: Of those, every how-many-th store was last visited long ago: overdue on the due list.
OVERDUE_EVERY = 5

HOW = ("客流比上月略有回升，周末人多", "店员流失一人，正在招聘", "隔壁新开一家竞品店，压力大",
       "5G套餐咨询多，成交偏少", "宽带续约集中到期，忙不过来")  # fmt: skip
PLANS = ("计划下月做一次社区地推", "准备增加一个收银台", "考虑延长营业时间到晚十点",
         "想引入智能家居体验区", "暂无新计划")  # fmt: skip
SUPPORT = ("答应补一批宣传物料", "安排一次5G套餐培训", "协调网格内客户清单下发",
           "帮忙申请门头改造补贴", "承诺加快终端补货")  # fmt: skip
THEIRS = ("本月完成20张5G卡办理", "配合社区活动派两名店员", "保证宽带续约回访全覆盖",
          "按时上报周销量", "门店陈列按新标准调整")  # fmt: skip
OUR_PROMISES = ("补发宣传物料", "安排套餐培训", "下发客户清单", "申请门头补贴")
PARTNER_PROMISES = ("完成20张5G卡", "派两名店员支援活动", "宽带续约回访全覆盖")
ISSUES = (
    # category, description, days ago raised, status, raised by the partner
    (IssueCategory.LATE_SUPPLY, "热门机型连续两周缺货，客户流失", 3, IssueStatus.OPEN, True),
    (IssueCategory.OPAQUE_APPRAISAL, "上月酬金扣减原因看不明白", 12, IssueStatus.IN_PROGRESS,
     False),
    (IssueCategory.PROMISE_NOT_KEPT, "说好的门头补贴三个月没到位", 45, IssueStatus.OPEN, False),
    (IssueCategory.CHANGING_RULES, "积分兑换规则一个季度改了两次", 100, IssueStatus.OPEN, False),
    (IssueCategory.LEFT_UNSOLVED, "宽带装机排期慢的问题反映多次", 30, IssueStatus.RESOLVED,
     False),
)  # fmt: skip


def _key(*parts: Any) -> uuid.UUID:
    return uuid.uuid5(KEYS, ":".join(str(p) for p in parts))


def _login(username: str, role: Role) -> tuple[Any, OrgUnit] | None:
    assignment = (
        RoleAssignment.objects.filter(user__username=username, role=role)
        .select_related("user", "org_unit")
        .first()
    )
    return (assignment.user, assignment.org_unit) if assignment else None


def _partner_store(grid: OrgUnit, county: OrgUnit) -> Store | None:
    partners = Store.objects.filter(
        active=True, store_type__in=[StoreType.PARTNER, StoreType.SOCIAL]
    ).order_by("-store_type", "store_id")  # 合作店 before 社会渠道
    return (
        partners.filter(org_unit__path__startswith=grid.path).first()
        or partners.filter(org_unit__path__startswith=county.path).first()
    )


def _newest_sales_month() -> str | None:
    relation = Warehouse().relation("store_sales")
    row = duckdb.connect().execute(f"SELECT max(month) FROM {relation}").fetchone()
    return str(row[0]) if row and row[0] else None


def build_demo(*, say: Callable[[str], Any]) -> None:
    manager = _login("grid_manager", Role.GRID_MANAGER)
    channel = _login("channel_manager", Role.CHANNEL_MANAGER)
    if manager is None or channel is None:
        say("visits: the demo has no grid_manager or channel_manager login; skipped")
        return
    grid = manager[1]
    county = grid.parent or grid
    stores = list(
        Store.objects.filter(active=True, org_unit__path__startswith=county.path)
        .select_related("org_unit")
        .order_by("store_id")
    )
    if not stores:
        say("visits: the first county has no stores yet; skipped")
        return
    today = timezone.localdate()
    with transaction.atomic():
        partner, partner_store = _partner(grid, county)
        made = _month_of_visits(stores, manager, channel, end=today, recent=True)
        newest = _newest_sales_month()
        if newest is not None and newest != today.strftime("%Y-%m"):
            made += _month_of_visits(
                stores, manager, channel, end=month_days(newest)[1], recent=False
            )
        raised = _issues(stores, manager[0], partner, partner_store, today=today)
    where = f"{partner_store.store_id} {partner_store.name}" if partner_store else "-"
    say(f"visits: {made} visits, {raised} issues; partner login `partner` for {where}")


def _partner(grid: OrgUnit, county: OrgUnit) -> tuple[Any, Store | None]:
    store = _partner_store(grid, county)
    if store is None:
        return None, None
    Staff.objects.get_or_create(
        employee_no=PARTNER_EMPLOYEE_NO,
        defaults={
            "name": PARTNER_LOGIN.name,
            "mobile": PARTNER_LOGIN.mobile,
            "title": str(Role.CHANNEL_PARTNER.label),
            "org_unit": store.org_unit,
        },
    )
    login = DemoLogin(
        PARTNER_LOGIN.username,
        PARTNER_LOGIN.name,
        PARTNER_LOGIN.role,
        store.org_unit.code,
        PARTNER_LOGIN.mobile,
        employee_no=PARTNER_EMPLOYEE_NO,
    )
    create_logins(logins=[login], units={store.org_unit.code: store.org_unit})
    user = get_user_model().objects.get(username=login.username)
    store.partners.add(user)
    return user, store


def _visitor(store: Store, manager: tuple[Any, OrgUnit], channel: tuple[Any, OrgUnit]) -> Any:
    for user, unit in (manager, channel):
        if store.org_unit.path.startswith(unit.path):
            return user
    return None


def _month_of_visits(
    stores: list[Store],
    manager: tuple[Any, OrgUnit],
    channel: tuple[Any, OrgUnit],
    *,
    end: dt.date,
    recent: bool,
) -> int:
    """Visits over the 30 days up to `end`, each store at its plan's pace with some jitter;
    with `recent`, every OVERDUE_EVERY-th store last seen long ago, and commitments."""
    plan = Plan.load()
    made = 0
    start = end - dt.timedelta(days=29)
    for index, store in enumerate(stores[:VISITED_STORES]):
        visitor = _visitor(store, manager, channel)
        if visitor is None:
            continue
        # One generator a store and month: a store's visits do not move when another's do.
        rng = random.Random(f"{SEED}:{end}:{store.store_id}")
        interval = plan.interval(org_path=store.org_unit.path, grade=store.grade)
        if recent and index % OVERDUE_EVERY == OVERDUE_EVERY - 1:
            days = [start - dt.timedelta(days=interval + rng.randint(3, 10))]
        else:
            day, days = start + dt.timedelta(days=rng.randint(0, min(interval, 29))), []
            while day <= end:
                days.append(day)
                day += dt.timedelta(days=max(1, interval + rng.randint(-1, 2)))
        for number, day in enumerate(days):
            made += _visit(store, visitor, day, with_commitment=recent and number == 0)
    return made


def _visit(store: Store, visitor: Any, day: dt.date, *, with_commitment: bool) -> int:
    rng = random.Random(f"{SEED}:{store.store_id}:{day}")
    visit, created = StoreVisit.objects.get_or_create(
        visitor=visitor,
        idempotency_key=_key("visit", store.store_id, day),
        defaults={
            "store": store,
            "visited_on": day,
            "how_are_things": rng.choice(HOW),
            "new_plans": rng.choice(PLANS),
            "our_support": rng.choice(SUPPORT),
            "their_commitment": rng.choice(THEIRS),
        },
    )
    if created and with_commitment:
        _commitments(visit, visitor, rng)
    return int(created)


def _commitments(visit: StoreVisit, visitor: Any, rng: random.Random) -> None:
    """One promise each side; those past their day mostly kept, now and then broken."""
    today = timezone.localdate()
    for side, promises in (
        (CommitmentSide.OURS, OUR_PROMISES),
        (CommitmentSide.PARTNER, PARTNER_PROMISES),
    ):
        due_on = visit.visited_on + dt.timedelta(days=rng.choice((7, 14, 21)))
        commitment = Commitment(
            visit=visit, store=visit.store, side=side, what=rng.choice(promises), due_on=due_on
        )
        roll = rng.random()
        if due_on < today and roll < 0.7:
            kept = roll < 0.55
            commitment.status = CommitmentStatus.KEPT if kept else CommitmentStatus.BROKEN
            commitment.closed_by = visitor
            commitment.closed_at = timezone.make_aware(dt.datetime.combine(due_on, dt.time(17, 0)))
            commitment.closing_note = "按期完成" if kept else "到期未兑现，已再次沟通"
        commitment.save()


def _issues(
    stores: list[Store], staff: Any, partner: Any, partner_store: Store | None, *, today: dt.date
) -> int:
    raised = 0
    for index, (category, text, days_ago, status, by_partner) in enumerate(ISSUES):
        store = partner_store if (by_partner or index % 2 == 0) and partner_store else None
        store = store or stores[index % len(stores)]
        author = partner if by_partner and partner is not None else staff
        moment = timezone.make_aware(
            dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(10, 30))
        )
        issue, created = PartnerIssue.objects.get_or_create(
            raised_by=author,
            idempotency_key=_key("issue", index, store.store_id),
            defaults={
                "store": store,
                "category": category,
                "description": text,
                "source": IssueSource.PARTNER if author is partner else IssueSource.STAFF,
                "raised_at": moment,
            },
        )
        if not created:
            continue
        raised += 1
        if status in (IssueStatus.IN_PROGRESS, IssueStatus.RESOLVED):
            issue.status = status
            issue.started_by, issue.started_at = staff, moment + dt.timedelta(days=2)
        if status == IssueStatus.RESOLVED:
            issue.resolved_by, issue.resolved_at = staff, moment + dt.timedelta(days=9)
            issue.resolution = "协调装维增派人手，排期缩短到三天内"
        issue.save()
    return raised
