"""The staff member's own page (我的业绩): their targets with progress, their statements and
their grade; nobody else's, and nothing for a login that reads no targets."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from quanwang.core.choices import Role
from tests import factories
from tests.performance.records import performance_records


def test_a_grid_manager_sees_their_own_targets_statements_and_grade(
    tree: factories.Tree, login: Any
) -> None:
    # Given a grid manager whose staff record holds a target, a statement and a grade, and
    # a neighbour in another city with the same
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    own = performance_records(grid=tree.grid_a, mark="甲", store_id="S-A", user=manager)
    other = performance_records(grid=tree.grid_b, mark="乙", store_id="S-B")
    # When they open their page
    page = login(manager).get(reverse("performance:me"))
    body = page.content.decode()
    # Then it lists their target with its attainment (800 of 1000), their statement and
    # grade, and nothing of the neighbour's
    assert page.status_code == 200
    assert reverse("performance:targets-detail", args=[own.staff_target.pk]) in body
    assert "80%" in body
    assert reverse("performance:incentives-detail", args=[own.statement.pk]) in body
    assert reverse("performance:grades-card", args=[own.staff.employee_no]) in body
    assert reverse("performance:targets-detail", args=[other.staff_target.pk]) not in body
    assert reverse("performance:incentives-detail", args=[other.statement.pk]) not in body
    assert "乙网格长" not in body


def test_a_login_without_a_staff_record_is_told_why_it_has_no_figures(
    tree: factories.Tree, login: Any
) -> None:
    # Given a county manager with no staff record
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    # When they open the page
    page = login(manager).get(reverse("performance:me"))
    # Then it answers and says why it is empty
    assert page.status_code == 200
    assert 'id="me-no-staff"' in page.content.decode()


def test_a_role_that_reads_no_grades_still_opens_its_page(tree: factories.Tree, login: Any) -> None:
    # Given a channel manager (reads targets, no staff grades) with a staff record
    manager = factories.user(role=Role.CHANNEL_MANAGER, at=tree.county_a)
    performance_records(grid=tree.grid_a, mark="甲", store_id="S-A", user=manager)
    # When they open the page
    page = login(manager).get(reverse("performance:me"))
    # Then it opens without the grade link
    assert page.status_code == 200
    assert "/performance/grades/staff/" not in page.content.decode()


def test_a_partner_login_gets_404(tree: factories.Tree, login: Any) -> None:
    # Given a partner store's login (no target grant)
    partner = factories.user(role=Role.CHANNEL_PARTNER, at=tree.province)
    # When it opens the page, then the page does not exist for it
    assert login(partner).get(reverse("performance:me")).status_code == 404
