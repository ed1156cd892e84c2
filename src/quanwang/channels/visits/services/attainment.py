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
