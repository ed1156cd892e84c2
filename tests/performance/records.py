"""One of each performance record on a grid, for the tests that open every route (tests/web's
every-page walk in zh-hans, tests/test_scoping's outsider walk): a staff member of the grid
who manages it, the grid's and the staff member's targets, a store clerk's responsibility, a
grade with a pending move, an incentive rule set and an approved statement with a line, and a
published actuals version holding the grid's figures. Names carry `mark`, so a page that
shows them to an outsider is caught."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from quanwang.core.models import OrgUnit, Staff
from quanwang.performance.actuals.choices import ResponsibilityKind, ResponsibilitySource
from quanwang.performance.actuals.store import ActualsVersion, current, publish
from quanwang.performance.choices import Grain
from quanwang.performance.grades.choices import GradeLevel, MoveDirection, MoveStatus
from quanwang.performance.incentives.choices import LineKind, RoleKind, StatementStatus
from quanwang.performance.models import (
    GradeMove,
    IncentiveLine,
    IncentiveRuleSet,
    IncentiveStatement,
    Responsibility,
    StaffGrade,
    Target,
)
from tests import factories

#: The period and month the records are about (the actuals' business day is its end).
PERIOD = "2024Q4"
MONTH = "2024-12"
AS_OF = dt.date(2024, 12, 31)


@dataclass
class PerformanceRecords:
    staff: Staff
    unit_target: Target
    staff_target: Target
    clerk: Responsibility
    move: GradeMove
    rule_set: IncentiveRuleSet
    statement: IncentiveStatement
    version: ActualsVersion


def performance_records(
    *, grid: OrgUnit, mark: str, store_id: str, user: Any | None = None
) -> PerformanceRecords:
    """The records of `grid` (whose store `store_id` gets a clerk); the staff member is the
    login `user`'s when given."""
    staff = factories.staff(at=grid, name=f"{mark}网格长")
    if user is not None:
        Staff.objects.filter(pk=staff.pk).update(user=user)
        staff.refresh_from_db()
    deadline = dt.date(2025, 1, 10)
    unit_target = Target.objects.create(
        kpi="revenue", period=PERIOD, grain=Grain.ORG_UNIT, key=grid.code, org_unit=grid,
        value=Decimal("1000"), deadline=deadline,
    )  # fmt: skip
    staff_target = Target.objects.create(
        kpi="revenue", period=PERIOD, grain=Grain.STAFF, key=staff.employee_no, org_unit=grid,
        staff=staff, parent=unit_target, value=Decimal("1000"), deadline=deadline,
    )  # fmt: skip
    Responsibility.objects.create(
        staff=staff, kind=ResponsibilityKind.GRID_MANAGER, grain=Grain.ORG_UNIT, key=grid.code,
        start=dt.date(2024, 1, 1), source=ResponsibilitySource.HAND,
    )  # fmt: skip
    clerk = Responsibility.objects.create(
        staff=staff, kind=ResponsibilityKind.STORE_CLERK, grain=Grain.STORE, key=store_id,
        start=dt.date(2024, 1, 1), source=ResponsibilitySource.HAND,
    )  # fmt: skip
    StaffGrade.objects.create(staff=staff, level=GradeLevel.JUNIOR, step=3, since=AS_OF)
    move = GradeMove.objects.create(
        staff=staff, period=PERIOD, direction=MoveDirection.PROMOTE,
        from_level=GradeLevel.JUNIOR, from_step=3, to_level=GradeLevel.JUNIOR, to_step=4,
        reasons={"note": f"{mark}理由"}, status=MoveStatus.PENDING,
    )  # fmt: skip
    top = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    assert top is not None
    rule_set = IncentiveRuleSet.objects.filter(role_kind=RoleKind.GRID_MANAGER).first()
    if rule_set is None:
        rule_set = IncentiveRuleSet.objects.create(
            role_kind=RoleKind.GRID_MANAGER, version=1, valid_from=dt.date(2024, 1, 1),
            rules={"piece_rates": [{"kpi": "revenue", "yuan_per_unit": "0.01"}]},
            note="巡检规则", org_unit=top,
        )  # fmt: skip
    version = _actuals(grid=grid, employee_no=staff.employee_no)
    statement = IncentiveStatement.objects.create(
        staff=staff, org_unit=grid, month=MONTH, role_kind=RoleKind.GRID_MANAGER,
        rule_set=rule_set, status=StatementStatus.APPROVED, actuals_version=version.version,
        as_of=AS_OF, fingerprint=f"{mark}-fp", line_count=1, total=Decimal("10.00"),
        computed_at=timezone.now(),
    )  # fmt: skip
    IncentiveLine.objects.create(
        statement=statement, line_no=1, kind=LineKind.PIECE, for_month=MONTH, kpi="revenue",
        grain=Grain.STAFF, key=staff.employee_no, period=MONTH, quantity=Decimal("1000"),
        rate=Decimal("0.01"), amount=Decimal("10.00"),
    )  # fmt: skip
    return PerformanceRecords(
        staff=staff, unit_target=unit_target, staff_target=staff_target, clerk=clerk,
        move=move, rule_set=rule_set, statement=statement, version=version,
    )  # fmt: skip


def _actuals(*, grid: OrgUnit, employee_no: str) -> ActualsVersion:
    """The grid's and its manager's revenue, added to what is published already."""
    rows = []
    kept = current()
    if kept is not None:
        import pyarrow.parquet as pq

        rows = pq.read_table(kept.values_path).to_pylist()
    for period in (MONTH, PERIOD):
        rows.append({"kpi": "revenue", "grain": Grain.ORG_UNIT.value, "key": grid.code,
                     "org_unit": grid.code, "period": period, "numerator": 800.0,
                     "denominator": None})  # fmt: skip
        rows.append({"kpi": "revenue", "grain": Grain.STAFF.value, "key": employee_no,
                     "org_unit": grid.code, "period": period, "numerator": 800.0,
                     "denominator": None})  # fmt: skip
    return publish(rows, as_of=AS_OF, snapshot=None)
