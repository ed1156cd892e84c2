"""Two first placements of one staff member at once, and two decisions of one move at once:
one grade, one history line per change (PostgreSQL row locks; the sequential double clicks
are tested everywhere in test_grades_pages and test_performance_read_api)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from quanwang.core.choices import Role
from quanwang.core.errors import ServiceError
from quanwang.performance.grades.choices import MoveStatus
from quanwang.performance.grades.services.moves import decide, place_staff
from quanwang.performance.models import GradeHistory, GradeMove, StaffGrade
from tests import factories
from tests.concurrency import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks"),
]


def test_two_first_placements_at_once_keep_one_grade() -> None:
    # given a staff member with no grade yet
    tree = factories.Tree()
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    staff = factories.staff(at=tree.grid_a, employee_no="E1", name="新人")

    def place() -> StaffGrade:
        return place_staff(
            employee_no="E1",
            level=1,
            step=3,
            by=admin,
            reason="入职定级",
            effective_on=dt.date(2025, 1, 1),
        )

    # when the province sends the same placement twice at the same moment
    results = at_once(place, place)
    # then both answer with the one grade, and the history has one line
    assert all(isinstance(r, StaffGrade) for r in results), results
    assert StaffGrade.objects.filter(staff=staff).count() == 1
    assert GradeHistory.objects.filter(staff=staff).count() == 1


def test_approve_and_reject_at_once_decide_once() -> None:
    # given a move waiting for two managers above the staff member
    tree = factories.Tree()
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    staff = factories.staff(at=tree.grid_a, employee_no="E1", name="李四")
    place_staff(employee_no="E1", level=1, step=10, by=admin, reason="入职定级")
    move = GradeMove.objects.create(
        staff=staff, period="2024Q4", direction="promote", from_level=1, from_step=10,
        to_level=2, to_step=1, reasons={"rule": "promote"}, status=MoveStatus.PENDING,
    )  # fmt: skip
    # when one approves twice and the other rejects, all at once
    results = at_once(
        lambda: decide(move=move.pk, approve=True, by=county),
        lambda: decide(move=move.pk, approve=True, by=county),
        lambda: decide(move=move.pk, approve=False, by=admin, comment="再看一季"),
    )
    # then one decision stands and the other way is refused; the grade moved at most once
    move.refresh_from_db()
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert all(isinstance(r, GradeMove | ServiceError) for r in results), results
    if move.status == MoveStatus.APPROVED:
        assert len(refused) == 1
        assert GradeHistory.objects.filter(move=move).count() == 1
    else:
        assert move.status == MoveStatus.REJECTED
        assert len(refused) == 2
        assert not GradeHistory.objects.filter(move=move).exists()
    grade = StaffGrade.objects.get(staff=staff)
    moved = (grade.level, grade.step) == (2, 1)
    assert moved is (move.status == MoveStatus.APPROVED)
