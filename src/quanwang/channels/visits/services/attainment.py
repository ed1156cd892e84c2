"""Visits done against plan, per grid and month: what grid scorecards read.

planned(store) = max(1, days in the month // the store's interval) (a weekly store: 4, a
fortnightly one: 2, a monthly one: 1); done(store) = its visits in the month, counted up to
its plan, so that ten visits to one store do not make up for none to another. A grid's figures
are the sums over its active stores (by the store's grid ID)."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count
from django.utils.translation import gettext as _

from quanwang.channels.choices import StoreGrade
from quanwang.channels.models import Store, StoreVisit
from quanwang.channels.visits.services.plan import Plan
from quanwang.core.errors import ServiceError

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class VisitAttainment:
    done: int
    planned: int


def month_days(month: str) -> tuple[dt.date, dt.date]:
    """The first and the last day of `month` (YYYY-MM)."""
    matched = MONTH.match(month or "")
    if matched is None:
        raise ServiceError(
            _("%(month)r is no month: write it as 2024-06.") % {"month": month}, field="month"
        )
    year, number = int(matched[1]), int(matched[2])
    return dt.date(year, number, 1), dt.date(year, number, calendar.monthrange(year, number)[1])


def attainment_by_grid(*, month: str) -> dict[str, VisitAttainment]:
    """grid_id → visits logged in `month` (YYYY-MM) to the grid's stores, and those planned."""
    first, last = month_days(month)
    days = (last - first).days + 1
    plan = Plan.load()
    visits = Counter(
        dict(
            StoreVisit.objects.filter(visited_on__range=(first, last))
            .values_list("store_id")
            .annotate(n=Count("pk"))
            .values_list("store_id", "n")
        )
    )
    done: Counter[str] = Counter()
    planned: Counter[str] = Counter()
    stores = (
        Store.objects.filter(active=True)
        .exclude(grid_id="")
        .values_list("pk", "grid_id", "grade", "org_unit__path")
    )
    for pk, grid_id, grade, path in stores:
        wanted = plan.planned_in(org_path=path, grade=grade, days=days)
        planned[grid_id] += wanted
        done[grid_id] += min(visits[pk], wanted)
    return {grid: VisitAttainment(done=done[grid], planned=planned[grid]) for grid in planned}


def visit_lines(*, grid_id: str, month: str) -> list[dict[str, object]]:
    """The facts behind a grid's visits done and planned in `month`: one row per active store
    of the grid, with its grade, the visits planned, the visits logged and those counted (up to
    the plan). Their sums are the scorecard's figures (attainment_by_grid)."""
    first, last = month_days(month)
    days = (last - first).days + 1
    plan = Plan.load()
    stores = list(
        Store.objects.filter(active=True, grid_id=grid_id)
        .order_by("store_id")
        .values_list("pk", "store_id", "name", "grade", "org_unit__path")
    )
    logged = Counter(
        dict(
            StoreVisit.objects.filter(
                visited_on__range=(first, last), store_id__in=[s[0] for s in stores]
            )
            .values_list("store_id")
            .annotate(n=Count("pk"))
            .values_list("store_id", "n")
        )
    )
    rows: list[dict[str, object]] = []
    for pk, store_id, name, grade, path in stores:
        wanted = plan.planned_in(org_path=path, grade=grade, days=days)
        rows.append(
            {
                _("Store ID"): store_id,
                _("Store"): name,
                _("Grade"): StoreGrade(grade).label if grade in StoreGrade.values else "",
                _("Visits planned"): wanted,
                _("Visits logged"): logged[pk],
                _("Visits counted"): min(logged[pk], wanted),
            }
        )
    return rows


# The plan's facts are the same rows: each store's planned visits beside what was done.
plan_lines = visit_lines
