"""Appraisal facts of an account manager for a month (客户经理考核的事实): visits done against
the visit plan, opportunities won, their accounts' revenue growth and member retention. Each
figure is the sum of rows that `fact_rows` lists (the facts pages and their XLSX), so a later
KPI capability reads `appraisal_facts` and can show where every number came from.

Which accounts are a manager's: those they lead now (AccountTeamMember, TeamRole.LEAD). Visits
done: the manager's visits in the month, to any account. Visits planned: for each account they
lead, the month's days over the grade's interval in force (a C account every 90 days counts a
third of a visit in a 30-day month). Revenue and members come from enterprise.grading's account
features for the month and the month before; while that part provides none, they are None.

These readers are not narrowed to a user: the caller (a page, a KPI job) decides who may read
a manager's facts."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.models import Staff
from quanwang.enterprise.choices import TeamRole
from quanwang.enterprise.models import Account, EnterpriseVisit
from quanwang.enterprise.work.choices import AppraisalMeasure
from quanwang.enterprise.work.services.portfolio import revenue_features
from quanwang.enterprise.work.services.rules import current_intervals

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """The first and last day of 'YYYY-MM'; a ServiceError naming the field otherwise."""
    found = _MONTH.match(month or "")
    if found is None:
        raise ServiceError(_("A month is written YYYY-MM."), field="month")
    year, number = int(found.group(1)), int(found.group(2))
    return dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1])


def previous_month(month: str) -> str:
    first, _last = month_bounds(month)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def led_accounts(*, staff: Staff) -> list[Account]:
    return list(
        Account.objects.filter(
            team_members__staff=staff, team_members__role=TeamRole.LEAD
        ).order_by("enterprise_id")
    )


def _visits(*, staff: Staff, month: str) -> Any:
    first, last = month_bounds(month)
    return (
        EnterpriseVisit.objects.filter(visitor=staff, visited_on__gte=first, visited_on__lte=last)
        .select_related("account")
        .order_by("visited_on", "pk")
    )


def _won(*, staff: Staff, month: str) -> Any:
    try:
        from quanwang.enterprise.models import Opportunity
        from quanwang.enterprise.pipeline.choices import OpportunityStatus
    except ImportError:
        return None
    first, last = month_bounds(month)
    return (
        Opportunity.objects.filter(
            owner=staff,
            status=OpportunityStatus.WON,
            closed_on__gte=first,
            closed_on__lte=last,
        )
        .select_related("account")
        .order_by("closed_on", "pk")
    )


def _plan_rows(*, staff: Staff, month: str) -> list[list[Any]]:
    first, last = month_bounds(month)
    days = (last - first).days + 1
    intervals = current_intervals()
    return [
        [
            a.enterprise_id,
            a.name,
            a.grade or "",
            intervals.days(a.grade),
            round(days / intervals.days(a.grade), 2),
        ]
        for a in led_accounts(staff=staff)
    ]


def _feature_rows(*, staff: Staff, month: str) -> list[list[Any]] | None:
    """Per account led: enterprise_id, name, revenue of the month before (None when that month
    is not kept), revenue of the month, members at the start (on the books when the month
    began, as the features count them), members who left in the month, members at the end."""
    accounts = led_accounts(staff=staff)
    ids = [a.enterprise_id for a in accounts]
    now = revenue_features(enterprise_ids=ids, month=month)
    if not now or next(iter(now.values())).get("month") != month:
        return None
    before = revenue_features(enterprise_ids=ids, month=previous_month(month))
    before_kept = bool(before) and next(iter(before.values())).get("month") == previous_month(month)
    rows = []
    for a in accounts:
        this = now.get(a.enterprise_id) or {}
        last = before.get(a.enterprise_id) or {}
        members = int(this.get("members") or 0)
        churned = int(this.get("churned_members") or 0)
        rows.append(
            [
                a.enterprise_id,
                a.name,
                int(last.get("revenue_fen") or 0) if before_kept else None,
                int(this.get("revenue_fen") or 0),
                members,
                churned,
                members - churned,
            ]
        )
    return rows


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def appraisal_facts(*, staff: Staff, month: str) -> dict[str, Any]:
    """The appraisal facts of `staff` for `month` ('YYYY-MM'):

    - staff_id, employee_no, month, accounts (the accounts they lead now);
    - visits_done (int), visits_planned (float), visit_plan_rate (done / planned, or None);
    - opportunities_won (int or None without the pipeline part), won_amount_fen (int or None);
    - revenue_fen, revenue_previous_fen (int or None without account features),
      revenue_growth (fraction, e.g. 0.05 for +5%, or None);
    - members_start, members_churned (int or None), member_retention (fraction or None);
    - measures: the AppraisalMeasure values; `fact_rows(staff=..., month=..., measure=...)`
      lists the rows behind each.
    """
    done = _visits(staff=staff, month=month).count()
    plan = _plan_rows(staff=staff, month=month)
    planned = round(sum(row[4] for row in plan), 2)
    won = _won(staff=staff, month=month)
    features = _feature_rows(staff=staff, month=month)
    revenue = sum(r[3] for r in features) if features is not None else None
    previous = (
        sum(r[2] for r in features)
        if features is not None and all(r[2] is not None for r in features)
        else None
    )
    start = sum(r[4] for r in features) if features is not None else None
    churned = sum(r[5] for r in features) if features is not None else None
    return {
        "staff_id": staff.pk,
        "employee_no": staff.employee_no,
        "month": month,
        "accounts": len(plan),
        "visits_done": done,
        "visits_planned": planned,
        "visit_plan_rate": _ratio(done, planned),
        "opportunities_won": won.count() if won is not None else None,
        "won_amount_fen": (
            int(won.aggregate(s=Sum("amount_fen"))["s"] or 0) if won is not None else None
        ),
        "revenue_fen": revenue,
        "revenue_previous_fen": previous,
        "revenue_growth": (
            _ratio(revenue - previous, previous)
            if revenue is not None and previous is not None
            else None
        ),
        "members_start": start,
        "members_churned": churned,
        "member_retention": (
            _ratio(start - churned, start) if start is not None and churned is not None else None
        ),
        "measures": list(AppraisalMeasure.values),
    }


@dataclass(frozen=True)
class FactRows:
    header: list[str]
    rows: list[list[Any]]
    #: False: the part that owns these figures provides no rows yet.
    available: bool = True


def fact_rows(*, staff: Staff, month: str, measure: AppraisalMeasure | str) -> FactRows:
    """The rows behind one appraisal figure: they add up to it."""
    if measure == AppraisalMeasure.VISITS_DONE:
        visits = _visits(staff=staff, month=month)
        return FactRows(
            [_("Visited on"), _("Enterprise ID"), _("Account"), _("Purpose"), _("Outcome")],
            [
                [
                    v.visited_on,
                    v.account.enterprise_id,
                    v.account.name,
                    str(v.get_purpose_display()),
                    v.outcome,
                ]
                for v in visits
            ],
        )
    if measure == AppraisalMeasure.VISITS_PLANNED:
        return FactRows(
            [
                _("Enterprise ID"),
                _("Account"),
                _("Grade"),
                _("Days between visits"),
                _("Visits planned"),
            ],
            _plan_rows(staff=staff, month=month),
        )
    if measure == AppraisalMeasure.OPPORTUNITIES_WON:
        won = _won(staff=staff, month=month)
        if won is None:
            return FactRows([], [], available=False)
        return FactRows(
            [
                _("Closed on"),
                _("Enterprise ID"),
                _("Account"),
                _("Opportunity"),
                _("Amount (yuan)"),
            ],
            [
                [o.closed_on, o.account.enterprise_id, o.account.name, o.title, o.amount_fen / 100]
                for o in won
            ],
        )
    if measure in (AppraisalMeasure.REVENUE, AppraisalMeasure.RETENTION):
        features = _feature_rows(staff=staff, month=month)
        if features is None:
            return FactRows([], [], available=False)
        if measure == AppraisalMeasure.REVENUE:
            return FactRows(
                [
                    _("Enterprise ID"),
                    _("Account"),
                    _("Revenue last month (yuan)"),
                    _("Revenue this month (yuan)"),
                ],
                [[r[0], r[1], None if r[2] is None else r[2] / 100, r[3] / 100] for r in features],
            )
        return FactRows(
            [
                _("Enterprise ID"),
                _("Account"),
                _("Members at the start"),
                _("Members who left"),
                _("Members at the end"),
            ],
            [[r[0], r[1], r[4], r[5], r[6]] for r in features],
        )
    raise ServiceError(_("Unknown appraisal figure."), field="measure")
