"""A manager's portfolio (客户经理名下客户): the accounts whose team they are on, by grade,
with revenue (enterprise.grading's features), visits due, care moments due (enterprise.persons)
and open opportunities (enterprise.pipeline). What a part does not provide yet is left out
rather than shown as zero.

Everything is read as the viewer may read it: a county manager's view of one of their
managers shows only the accounts in the county manager's reach."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from quanwang.core.choices import Action, Resource
from quanwang.core.models import Staff
from quanwang.core.querysets import scope_filter
from quanwang.enterprise.choices import AccountGrade, TeamRole
from quanwang.enterprise.models import Account, AccountTeamMember
from quanwang.enterprise.work.services import grades
from quanwang.enterprise.work.services.plan import (
    LIVE_STATUSES,
    DueVisit,
    annotated,
    due_item,
    visitable_accounts,
)
from quanwang.enterprise.work.services.rules import current_intervals

log = logging.getLogger(__name__)

#: How far ahead care moments count as due on the portfolio.
CARE_AHEAD_DAYS = 7


def portfolio_staff(*, user: Any) -> QuerySet[Staff]:
    """The account managers whose portfolio `user` may open: graded or on an account team,
    in the user's subtree (ENTERPRISE_ACCOUNT over their unit), or the user themself."""
    q = scope_filter(
        user,
        resource=Resource.ENTERPRISE_ACCOUNT,
        action=Action.VIEW,
        org_path_field="org_unit__path",
        owner_field="user",
    )
    staff = Staff.objects.filter(
        Q(account_manager_profile__isnull=False) | Q(account_teams__isnull=False)
    )
    staff = staff if q is None else staff.filter(q)
    return Staff.objects.filter(pk__in=staff.values("pk")).select_related(
        "org_unit", "account_manager_profile"
    )


def accounts_of(*, user: Any, staff: Staff) -> QuerySet[Account]:
    """The live accounts `staff` is on the team of, as far as `user` may read them."""
    on_team = AccountTeamMember.objects.filter(staff=staff).values("account_id")
    return (
        Account.objects.restrict(user)
        .filter(pk__in=on_team, status__in=LIVE_STATUSES, active=True)
        .select_related("org_unit", "account_manager", "account_manager__account_manager_profile")
    )


def revenue_features(*, enterprise_ids: list[str], month: str | None = None) -> dict[str, dict]:
    """enterprise.grading's account features, or {} while that part provides none."""
    if not enterprise_ids:
        return {}
    try:
        from quanwang.enterprise.grading.features import features_for
    except ImportError:
        return {}
    try:
        return features_for(enterprise_ids=enterprise_ids, month=month)
    # No kept file yet (before the first nightly run): the revenue is left out, not zero.
    except (FileNotFoundError, LookupError, ValueError, OSError):
        log.warning("account features unavailable", exc_info=True)
        return {}


def care_due(*, user: Any, accounts: QuerySet[Account], start: dt.date, end: dt.date) -> list[Any]:
    try:
        from quanwang.enterprise.persons.services.care import due_care
    except ImportError:
        return []
    ids = list(accounts.values_list("pk", flat=True))
    moments = due_care(user=user, start=start, end=end).filter(
        Q(account_id__in=ids) | Q(account__isnull=True, person__roles__account_id__in=ids)
    )
    return list(moments.distinct().order_by("date", "pk")[:50])


def open_opportunities_of(*, user: Any, staff: Staff, accounts: QuerySet[Account]) -> list[Any]:
    try:
        from quanwang.enterprise.pipeline.services import open_opportunities
    except ImportError:
        return []
    ids = list(accounts.values_list("pk", flat=True))
    found = open_opportunities(user=user).filter(Q(owner=staff) | Q(account_id__in=ids))
    return list(found.select_related("account").distinct().order_by("expected_close", "pk"))


@dataclass
class Portfolio:
    staff: Staff
    grade: str
    accounts: list[Account]
    by_grade: list[tuple[str, int]]
    lead_of: set[int]
    violations: list[Account]
    revenue_fen: int | None
    revenue_by_account: dict[str, int]
    due: list[DueVisit]
    care: list[Any]
    opportunities: list[Any]
    opportunity_amount_fen: int
    notes: list[str] = field(default_factory=list)


def portfolio(*, user: Any, staff: Staff, on: dt.date) -> Portfolio:
    accounts_qs = accounts_of(user=user, staff=staff)
    accounts = list(accounts_qs.order_by("grade", "enterprise_id"))
    counts = Counter(a.grade or "" for a in accounts)
    by_grade = [(g, counts.get(g, 0)) for g in (*AccountGrade.values, "") if counts.get(g, 0)]
    lead_of = set(
        AccountTeamMember.objects.filter(staff=staff, role=TeamRole.LEAD).values_list(
            "account_id", flat=True
        )
    )
    features = revenue_features(enterprise_ids=[a.enterprise_id for a in accounts])
    revenue = {
        eid: int(f.get("revenue_fen") or 0) for eid, f in features.items() if isinstance(f, dict)
    }
    intervals = current_intervals()
    # Due visits: those of the portfolio the viewer may see visits of.
    visitable = annotated(visitable_accounts(user=user).filter(pk__in=[a.pk for a in accounts]))
    due = sorted(
        (
            item
            for item in (due_item(account=a, on=on, intervals=intervals) for a in visitable)
            if item.days_overdue >= 0
        ),
        key=lambda d: (-d.days_overdue, d.grade or "Z", d.account.enterprise_id),
    )
    opportunities = open_opportunities_of(user=user, staff=staff, accounts=accounts_qs)
    return Portfolio(
        staff=staff,
        grade=grades.grade_of(staff),
        accounts=accounts,
        by_grade=by_grade,
        lead_of=lead_of,
        violations=[a for a in accounts if a.pk in lead_of and grades.is_violation(a)],
        revenue_fen=sum(revenue.values()) if revenue else None,
        revenue_by_account=revenue,
        due=due,
        care=care_due(
            user=user,
            accounts=accounts_qs,
            start=on - dt.timedelta(days=CARE_AHEAD_DAYS),
            end=on + dt.timedelta(days=CARE_AHEAD_DAYS),
        ),
        opportunities=opportunities,
        opportunity_amount_fen=sum(int(o.amount_fen) for o in opportunities),
    )


@dataclass(frozen=True)
class PortfolioLine:
    """One manager's line in the dashboard's summary."""

    staff: Staff
    grade: str
    accounts: int
    a_b_accounts: int
    violations: int


def summary(*, user: Any, limit: int = 50) -> list[PortfolioLine]:
    """The managers in `user`'s reach with the accounts they lead counted, those with
    violations first, then the biggest."""
    accounts = Account.objects.restrict(user).filter(status__in=LIVE_STATUSES, active=True)
    violating = accounts.filter(grades.violation_filter()).values("pk")
    rows = (
        AccountTeamMember.objects.filter(role=TeamRole.LEAD, account__in=accounts.values("pk"))
        .values("staff_id")
        .annotate(
            n=Count("pk"),
            ab=Count("pk", filter=Q(account__grade__in=[AccountGrade.A, AccountGrade.B])),
            bad=Count("pk", filter=Q(account_id__in=violating)),
        )
        .order_by("-bad", "-n", "staff_id")[:limit]
    )
    counted = {r["staff_id"]: r for r in rows}
    staff = {s.pk: s for s in portfolio_staff(user=user).filter(pk__in=list(counted))}
    return [
        PortfolioLine(
            staff=staff[pk],
            grade=grades.grade_of(staff[pk]),
            accounts=r["n"],
            a_b_accounts=r["ab"],
            violations=r["bad"],
        )
        for pk, r in counted.items()
        if pk in staff
    ]
