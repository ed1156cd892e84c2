"""What a statement reads from the other parts of the performance app, in one place: who is
of which role kind in a month (actuals' responsibilities, else the logins' roles), a staff
member's attainment (targets.progress), their grade coefficient (grades) and the actuals
figures of a pinned version.

The other parts are looked up by name when called, so this part works (and is tested) before
and without them: no attainment without the targets part (the rule's without-target
multiplier applies), a coefficient of 1 without the grades part.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import duckdb
from django.db.models import Q

from quanwang.core.choices import Role
from quanwang.core.models import Staff
from quanwang.performance.actuals import reading
from quanwang.performance.actuals.store import ActualsVersion
from quanwang.performance.choices import Grain
from quanwang.performance.grades.services.reading import coefficient_on
from quanwang.performance.incentives.choices import RoleKind
from quanwang.performance.models import Responsibility
from quanwang.performance.periods import Period
from quanwang.performance.targets import progress

#: Roles whose holders are paid as a role kind when no responsibility says otherwise.
ROLE_KINDS = {
    Role.GRID_MANAGER: RoleKind.GRID_MANAGER,
    Role.ACCOUNT_MANAGER: RoleKind.ACCOUNT_MANAGER,
}


@dataclass(frozen=True)
class Payee:
    staff: Staff
    kind: RoleKind
    #: The unit whose team pool the staff member shares (the unit the staff record is at).
    team_unit: str


def payees(period: Period) -> dict[str, Payee]:
    """employee_no → Payee of every staff member paid in the month: their responsibility kind
    over the month (the last one held when they changed: the month is paid as they ended it),
    else the role kind of their login's role."""
    kinds: dict[str, RoleKind] = {}
    for staff_id, role in (
        Staff.objects.filter(user__role_assignments__role__in=list(ROLE_KINDS))
        .order_by("employee_no", "user__role_assignments__role")
        .values_list("employee_no", "user__role_assignments__role")
    ):
        kinds.setdefault(staff_id, ROLE_KINDS[Role(role)])
    for employee_no, kind in _responsibility_kinds(period).items():
        kinds[employee_no] = kind
    staff = Staff.objects.filter(employee_no__in=kinds).select_related("org_unit")
    return {
        s.employee_no: Payee(staff=s, kind=kinds[s.employee_no], team_unit=s.org_unit.code)
        for s in staff
    }


def _responsibility_kinds(period: Period) -> dict[str, RoleKind]:
    found: dict[str, RoleKind] = {}
    rows = (
        Responsibility.objects.filter(Q(start__isnull=True) | Q(start__lte=period.end))
        .exclude(end__lt=period.start)
        .order_by("staff__employee_no", "start")
        .values_list("staff__employee_no", "kind")
    )
    for employee_no, kind in rows:
        if kind in RoleKind.values:
            found[employee_no] = RoleKind(kind)
    return found


def attainment(
    *, employee_no: str, period: Period, kpi: str | None, version: ActualsVersion | None = None
) -> Decimal | None:
    """The staff member's attainment of the month (a fraction), rounded to 4 places so a re-run
    picks the same tier; None without a target."""
    value = progress.attainment(
        grain=Grain.STAFF, key=employee_no, period=period.code, kpi=kpi, version=version
    )
    return None if value is None else Decimal(str(round(float(value), 4)))


def coefficient(*, staff: Staff, day: dt.date) -> Decimal:
    """The staff member's grade coefficient on `day` (1 without a grade)."""
    return Decimal(str(coefficient_on(staff=staff, day=day)))


def figures(
    *, version: ActualsVersion, kpi: str, grain: Grain, period: str
) -> dict[str, float | None]:
    """key → value of a KPI at a grain over a period in the pinned version."""
    return {
        key: figure.value
        for key, figure in reading.figures(
            kpi=kpi, grain=grain, period=period, version=version
        ).items()
    }


@lru_cache(maxsize=32)
def _periods(values_path: str) -> frozenset[str]:
    connection = duckdb.connect()
    try:
        rows = connection.execute(
            "select distinct period from read_parquet(?)", [values_path]
        ).fetchall()
    finally:
        connection.close()
    return frozenset(str(r[0]) for r in rows)


def holds_period(version: ActualsVersion, period: str) -> bool:
    """Whether the version computed the period at all (an older month it no longer covers is
    not recomputed: its approved statement stands)."""
    return period in _periods(str(version.values_path))
