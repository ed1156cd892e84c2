"""The boards world the boards' pages and API tests share: a county's three grids and another
county's one, two grid managers with staff records, and three kept days of a "sales" KPI (a
week ago, yesterday, today): G1 climbs from 3rd to 1st; G2 and G3 tie."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from quanwang.core.choices import Role
from quanwang.performance.actuals.store import publish
from quanwang.performance.boards import build
from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime
from quanwang.performance.kpis.definitions import KpiDefinition
from quanwang.performance.targets import kpis
from tests import factories

DAY = dt.date(2024, 6, 10)
MONTH = "2024-06"


def sales_kpi(code: str, direction: Direction, aggregation: Aggregation) -> KpiDefinition:
    return KpiDefinition(
        code=code,
        name=f"指标{code}",
        unit="",
        direction=direction,
        aggregation=aggregation,
        over_time=OverTime.FLOW,
        grains=frozenset(Grain),
        inputs=(),
        build=lambda facts, context: None,
    )


def publish_day(
    day: dt.date, grids: dict[str, float | None], *, staff: dict[str, float] | None = None
) -> None:
    rows: list[dict[str, Any]] = []
    for period in (MONTH, "2024Q2"):
        for code, value in grids.items():
            if value is not None:
                rows.append(
                    {"kpi": "sales", "grain": "org_unit", "key": code, "org_unit": code,
                     "period": period, "numerator": value, "denominator": None}
                )  # fmt: skip
        for number, value in (staff or {}).items():
            rows.append(
                {"kpi": "sales", "grain": "staff", "key": number, "org_unit": "CA-1-G1",
                 "period": period, "numerator": value, "denominator": None}
            )  # fmt: skip
    publish(rows, as_of=day, snapshot="snap-1")


def login_user(role: Role, at: Any) -> Any:
    """A login without a hashed password (hashing costs half a second; force_login needs none)."""
    from django.contrib.auth import get_user_model

    from quanwang.core.models import RoleAssignment

    user = get_user_model().objects.create(username=f"u-{at.code}-{role.value}")
    RoleAssignment.objects.create(user=user, role=role, org_unit=at)
    return user


def make_world(tree: factories.Tree, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setitem(kpis.EXTRA, "sales", sales_kpi("sales", Direction.HIGHER, Aggregation.SUM))
    g2 = factories.org_unit(code="CA-1-G2", parent=tree.county_a, name="甲二网格")
    g3 = factories.org_unit(code="CA-1-G3", parent=tree.county_a, name="甲三网格")
    manager = login_user(Role.GRID_MANAGER, tree.grid_a)
    staff = factories.staff(at=tree.grid_a, name="王网格", employee_no="E-GM1")
    staff.user = manager
    staff.save()
    other = login_user(Role.GRID_MANAGER, g2)
    other_staff = factories.staff(at=g2, name="李网格", employee_no="E-GM2")
    other_staff.user = other
    other_staff.save()
    # A week ago and yesterday, then today: G1 climbs from 3rd to 1st; G2 and G3 tie.
    publish_day(
        DAY - dt.timedelta(days=7), {"CA-1-G1": 1, "CA-1-G2": 2, "CA-1-G3": 3, "CB-1-G1": 4}
    )
    build.build_day()
    publish_day(
        DAY - dt.timedelta(days=1), {"CA-1-G1": 5, "CA-1-G2": 8, "CA-1-G3": 9, "CB-1-G1": 4}
    )
    build.build_day()
    publish_day(
        DAY,
        {"CA-1-G1": 10, "CA-1-G2": 8, "CA-1-G3": 8, "CB-1-G1": 20},
        staff={"E-GM1": 10, "E-GM2": 8},
    )
    build.build_day()
    return {"tree": tree, "g2": g2, "g3": g3, "manager": manager, "other": other}
