"""Reading grades within the reader's scope: a unit's distribution (levels × steps), a staff
member's card with the history, and the coefficient incentives multiply by."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.errors import NotFound
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments, scope_filter
from quanwang.performance.actuals.reading import business_day
from quanwang.performance.grades.choices import STEPS, GradeLevel, MoveStatus
from quanwang.performance.grades.rules import NEUTRAL, Position
from quanwang.performance.grades.services.rule_sets import rules_on
from quanwang.performance.models import GradeHistory, GradeMove, StaffGrade

#: The staff listed under a distribution (the counts cover everyone).
LISTED = 300


def readable_staff(user: Any) -> QuerySet[Staff]:
    """Staff whose grade `user` reads: those held in their STAFF_GRADE VIEW subtree, or their
    own staff record (Reach.OWN)."""
    q = scope_filter(
        user,
        resource=Resource.STAFF_GRADE,
        action=Action.VIEW,
        org_path_field="org_unit__path",
        owner_field="user",
    )
    return Staff.objects.all() if q is None else Staff.objects.filter(q)


def reached_units(user: Any) -> QuerySet[OrgUnit]:
    """Units whose distribution `user` reads: a STAFF_GRADE VIEW grant over a subtree (the
    staff's own card is all a Reach.OWN login gets)."""
    if getattr(user, "is_superuser", False):
        return OrgUnit.objects.all()
    q = Q(pk__in=[])
    for assignment in active_assignments(user):
        granted = reach(role=assignment.role, resource=Resource.STAFF_GRADE, action=Action.VIEW)
        if granted is Reach.SUBTREE:
            q |= Q(path__startswith=assignment.org_unit.path)
    return OrgUnit.objects.filter(q)


@dataclass(frozen=True)
class LevelRow:
    level: GradeLevel
    counts: list[int]
    total: int


@dataclass(frozen=True)
class Distribution:
    unit: OrgUnit
    rows: list[LevelRow]
    graded: int
    ungraded: int
    staff: list[tuple[Staff, Position | None]]
    staff_total: int
    pending: int
    steps: list[int] = field(default_factory=lambda: list(range(1, STEPS + 1)))


def distribution(*, user: Any, unit_code: str | None = None) -> Distribution:
    """How the staff held in a unit's subtree spread over levels × steps (NotFound: a unit out
    of reach, or no subtree grant at all)."""
    units = reached_units(user)
    unit = units.filter(code=unit_code).first() if unit_code else units.order_by("path").first()
    if unit is None:
        raise NotFound()
    staff = Staff.objects.filter(org_unit__path__startswith=unit.path)
    grades = StaffGrade.objects.filter(staff__org_unit__path__startswith=unit.path)
    counted = Counter(grades.values_list("level", "step"))
    rows = [
        LevelRow(
            level=level,
            counts=[counted.get((level.value, s), 0) for s in range(1, STEPS + 1)],
            total=sum(n for (lv, _s), n in counted.items() if lv == level.value),
        )
        for level in reversed(GradeLevel)
    ]
    graded = sum(counted.values())
    listed = list(
        staff.select_related("org_unit", "grade").order_by("org_unit__path", "employee_no")[:LISTED]
    )
    pending = GradeMove.objects.filter(
        staff__org_unit__path__startswith=unit.path, status=MoveStatus.PENDING
    ).count()
    return Distribution(
        unit=unit,
        rows=rows,
        graded=graded,
        ungraded=staff.count() - graded,
        staff=[(s, _position_of(s)) for s in listed],
        staff_total=staff.count(),
        pending=pending,
    )


def _position_of(staff: Staff) -> Position | None:
    grade = getattr(staff, "grade", None)
    return None if grade is None else Position(grade.level, grade.step)


@dataclass(frozen=True)
class Card:
    staff: Staff
    grade: StaffGrade | None
    position: Position | None
    coefficient: Decimal
    history: list[GradeHistory]
    moves: list[GradeMove]


def card(*, user: Any, employee_no: str, day: dt.date | None = None) -> Card:
    """A staff member's grade, coefficient, history and moves (NotFound outside scope: a
    Reach.OWN login reads its own card only)."""
    staff = readable_staff(user).select_related("org_unit").filter(employee_no=employee_no)
    found = staff.first()
    if found is None:
        raise NotFound()
    grade = StaffGrade.objects.filter(staff=found).first()
    position = None if grade is None else Position(grade.level, grade.step)
    history = list(GradeHistory.objects.filter(staff=found).select_related("approved_by")[:50])
    moves = list(GradeMove.objects.filter(staff=found).select_related("decided_by")[:20])
    return Card(
        staff=found,
        grade=grade,
        position=position,
        coefficient=coefficient_on(staff=found, day=day or business_day() or dt.date.today()),
        history=history,
        moves=moves,
    )


def grade_on(*, staff: Staff | int, day: dt.date) -> Position | None:
    """The grade a staff member held on `day` (None: none yet), from the history."""
    staff_id = staff.pk if isinstance(staff, Staff) else int(staff)
    held = (
        GradeHistory.objects.filter(staff_id=staff_id, effective_on__lte=day)
        .order_by("-effective_on", "-pk")
        .values_list("to_level", "to_step")
        .first()
    )
    return None if held is None else Position(*held)


def coefficient_on(*, staff: Staff | int, day: dt.date) -> Decimal:
    """The incentive coefficient of the grade `staff` held on `day`, under the rules in force
    that day; 1.00 without a grade. Unscoped: the incentives run reads it for every statement
    (the caller scopes what it shows). The same history and rules give the same coefficient,
    so a statement re-run gives identical lines."""
    position = grade_on(staff=staff, day=day)
    if position is None:
        return NEUTRAL
    return rules_on(day).coefficient(position)
