"""Account managers' grades: moves with their history, the distribution against the seeds'
proportions, and A/B accounts led by too junior a manager."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.choices import AccountGrade, ManagerGrade
from quanwang.enterprise.models import AccountManagerProfile, ManagerGradeChange
from quanwang.enterprise.work.services import grades
from tests import factories
from tests.enterprise import factories as ent
from tests.enterprise.work_world import build


def test_a_grade_move_is_recorded_with_who_when_and_why(tree: factories.Tree) -> None:
    world = build(tree)
    # When the county manager moves the junior manager up
    moved = grades.set_manager_grade(
        actor=world.county_user,
        staff_pk=world.am.pk,
        grade=ManagerGrade.MIDDLE,
        reason="考核连续两季度优秀",
        effective_on=dt.date(2026, 7, 1),
    )
    # Then the profile holds the new grade and the history the move
    assert AccountManagerProfile.objects.get(staff=world.am).grade == ManagerGrade.MIDDLE
    change = moved.change
    assert change is not None
    assert (change.from_grade, change.to_grade, change.changed_by, change.reason) == (
        ManagerGrade.JUNIOR, ManagerGrade.MIDDLE, world.county_user, "考核连续两季度优秀",
    )  # fmt: skip
    # And the same grade again (a retry) records nothing more
    again = grades.set_manager_grade(
        actor=world.county_user, staff_pk=world.am.pk, grade=ManagerGrade.MIDDLE, reason="重复"
    )
    assert again.change is None
    assert list(grades.history(user=world.auditor, staff=world.am)) == [change]


def test_a_first_grade_is_a_move_from_nothing(tree: factories.Tree) -> None:
    world = build(tree)
    newcomer = factories.staff(at=tree.grid_a)
    moved = grades.set_manager_grade(
        actor=world.county_user, staff_pk=newcomer.pk, grade=ManagerGrade.JUNIOR, reason="新入职"
    )
    assert moved.change is not None
    assert moved.change.from_grade == ""


def test_nobody_grades_themselves_or_another_county(tree: factories.Tree) -> None:
    world = build(tree)
    # An account manager holds CHANGE on their own file (Reach.OWN) but not on grades
    with pytest.raises(NotFound):
        grades.set_manager_grade(
            actor=world.am_user, staff_pk=world.am.pk, grade=ManagerGrade.SENIOR, reason="x"
        )
    with pytest.raises(NotFound):
        grades.set_manager_grade(
            actor=world.county_user, staff_pk=world.other.pk, grade=ManagerGrade.SENIOR, reason="x"
        )
    assert not ManagerGradeChange.objects.exists()


@pytest.mark.parametrize(
    ("grade", "reason", "field"),
    [
        ("expert", "理由", "grade"),
        (ManagerGrade.SENIOR, "  ", "reason"),
        (ManagerGrade.SENIOR, "长" * 3000, "reason"),
    ],
)
def test_a_bad_move_names_its_field(
    tree: factories.Tree, grade: str, reason: str, field: str
) -> None:
    world = build(tree)
    with pytest.raises(ServiceError) as refused:
        grades.set_manager_grade(
            actor=world.county_user, staff_pk=world.am.pk, grade=grade, reason=reason
        )
    assert refused.value.field == field
    assert AccountManagerProfile.objects.get(staff=world.am).grade == ManagerGrade.JUNIOR


def test_the_distribution_flags_the_shares_outside_the_seeds_range(tree: factories.Tree) -> None:
    world = build(tree)
    # Given 1 junior and 1 middle (from the world) and 2 more juniors: 75% junior, 25% middle
    for _ in range(2):
        ent.manager_grade(staff=factories.staff(at=tree.grid_a), grade=ManagerGrade.JUNIOR)
    found = grades.distribution(user=world.admin)
    shares = {s.grade: s for s in found.shares}
    assert found.total == 4
    assert (shares[ManagerGrade.JUNIOR].count, shares[ManagerGrade.JUNIOR].percent) == (3, 75.0)
    assert {s.grade: s.direction for s in found.flagged} == {
        ManagerGrade.SENIOR: "under", ManagerGrade.MIDDLE: "under", ManagerGrade.JUNIOR: "over",
    }  # fmt: skip
    # And a county manager counts only their county's managers
    assert grades.distribution(user=world.county_user).total == 3


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(counts=st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)))
def test_shares_add_up_and_a_flag_means_outside_the_range(
    db: None, counts: tuple[int, int, int]
) -> None:
    with transaction.atomic():
        unit = factories.org_unit(code="HX")
        for grade, n in zip(
            (ManagerGrade.SENIOR, ManagerGrade.MIDDLE, ManagerGrade.JUNIOR), counts, strict=True
        ):
            for _ in range(n):
                ent.manager_grade(staff=factories.staff(at=unit), grade=grade)
        found = grades.distribution(user=factories.user(role=factories.Role.AUDITOR, at=unit))
        assert found.total == sum(counts)
        assert sum(s.count for s in found.shares) == found.total
        if found.total:
            assert abs(sum(s.percent for s in found.shares) - 100) < 0.2
            for share in found.shares:
                assert share.out_of_range == (share in found.flagged)
                assert share.out_of_range == (not share.low <= share.percent <= share.high)
        else:
            assert found.flagged == []
        transaction.set_rollback(True)


def test_an_a_or_b_account_led_by_a_junior_or_ungraded_manager_is_flagged(
    tree: factories.Tree,
) -> None:
    world = build(tree)
    # The junior manager leads A, B and C in county A: A and B are violations, C is not
    found = set(grades.violations(user=world.county_user))
    assert found == {world.a, world.b}
    assert grades.is_violation(world.a)
    assert not grades.is_violation(world.c)
    # A lead with no grade at all is a violation too; a middle manager's A account is not
    assert not grades.is_violation(world.far)
    AccountManagerProfile.objects.filter(staff=world.other).delete()
    world.far.refresh_from_db()
    assert set(grades.violations(user=world.admin)) == {world.a, world.b, world.far}
    # When the junior manager is moved up, the flags go
    grades.set_manager_grade(
        actor=world.county_user, staff_pk=world.am.pk, grade=ManagerGrade.SENIOR, reason="晋升"
    )
    assert set(grades.violations(user=world.county_user)) == set()


def test_the_violations_are_flagged_on_the_portfolio_and_the_dashboard(
    tree: factories.Tree, login: Any
) -> None:
    from quanwang.enterprise.work import sections

    world = build(tree)
    dashboard = sections.dashboard_section(user=world.county_user)
    assert dashboard is not None
    assert dashboard["violation_count"] == 2
    assert {row["a"] for row in dashboard["violations"]} == {world.a, world.b}
    page = login(world.county_user).get(f"/enterprise/managers/{world.am.pk}/")
    assert page.status_code == 200
    assert page.content.decode().count('class="flag violation"') == 2
    listed = login(world.county_user).get("/enterprise/managers/violations/")
    assert f'id="violation-{world.a.pk}"' in listed.content.decode()
    assert AccountGrade.C not in {r["account"].grade for r in listed.context["rows"]}


def test_the_grade_form_moves_a_grade(tree: factories.Tree, login: Any) -> None:
    world = build(tree)
    client = login(world.county_user)
    response = client.post(
        f"/enterprise/managers/{world.am.pk}/grade/",
        {"grade": "middle", "effective_on": "2026-07-01", "reason": "能力提升"},
    )
    assert response.status_code == 302
    assert AccountManagerProfile.objects.get(staff=world.am).grade == ManagerGrade.MIDDLE
    # An account manager cannot post a grade for themself: not found
    assert (
        login(world.am_user)
        .post(
            f"/enterprise/managers/{world.am.pk}/grade/",
            {"grade": "senior", "effective_on": "2026-07-01", "reason": "x"},
        )
        .status_code
        == 404
    )
