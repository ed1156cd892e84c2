"""The demo's visits: a partner login for a partner store of the grid manager's grid, a month
of visits, commitments kept and open, issues of different ages; built twice, the same."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from quanwang.channels.choices import StoreGrade, StoreType
from quanwang.channels.models import Commitment, PartnerIssue, StoreVisit
from quanwang.channels.visits.choices import CommitmentStatus, IssueSource, IssueStatus
from quanwang.channels.visits.demo import build_demo
from quanwang.channels.visits.services.issues import days_open
from quanwang.channels.visits.services.partner import partner_stores
from quanwang.core.choices import Role
from quanwang.core.models import RoleAssignment, Staff
from tests import factories
from tests.channels.test_visits_helpers import store


def test_the_demo_has_a_partner_a_month_of_visits_and_aged_issues(
    tree: factories.Tree,
) -> None:
    # Given the demo's grid manager (grid A) and channel manager (city A), and stores of
    # county A: an own hall and a partner store in grid A, more in a second grid
    factories.user(role=Role.GRID_MANAGER, at=tree.grid_a, username="grid_manager")
    factories.user(role=Role.CHANNEL_MANAGER, at=tree.city_a, username="channel_manager")
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province, username="admin")
    factories.staff(at=tree.province, employee_no="DEMO000")
    Staff.objects.filter(employee_no="DEMO000").update(user=admin)
    grid_a2 = factories.org_unit(code="CA-1-G2", parent=tree.county_a)
    store(tree.grid_a, store_type=StoreType.OWN_HALL, grade=StoreGrade.KEY)
    partner_store = store(tree.grid_a, store_type=StoreType.PARTNER, grade=StoreGrade.ANCHOR)
    for _ in range(8):
        store(grid_a2, store_type=StoreType.SOCIAL, grade=StoreGrade.SMALL)
    store(tree.grid_b)
    said: list[str] = []

    # When the demo is built, twice
    build_demo(say=said.append)
    counts = (StoreVisit.objects.count(), Commitment.objects.count(), PartnerIssue.objects.count())
    build_demo(say=said.append)

    # Then a `partner` login holds the partner store of grid A, with the partner role
    partner = get_user_model().objects.get(username="partner")
    assert list(partner_stores(user=partner)) == [partner_store]
    assert RoleAssignment.objects.filter(user=partner, role=Role.CHANNEL_PARTNER).exists()
    assert partner.check_password("quanwang-demo")
    # with a staff record of its own (the admin's stays the admin's)
    assert partner.staff.employee_no == "PARTNER001"
    assert Staff.objects.get(employee_no="DEMO000").user == admin
    # and a month of visits to county A's stores by the two managers, none to grid B
    visits = StoreVisit.objects.all()
    assert visits.count() >= 10
    assert {v.visitor.username for v in visits} == {"grid_manager", "channel_manager"}
    assert not visits.filter(store__org_unit=tree.grid_b).exists()
    # with commitments both open and kept, and issues of different ages and states
    statuses = set(Commitment.objects.values_list("status", flat=True))
    assert {CommitmentStatus.OPEN, CommitmentStatus.KEPT} <= statuses
    today = timezone.localdate()
    ages = sorted(days_open(i, today=today) for i in PartnerIssue.objects.filter(
        status__in=[IssueStatus.OPEN, IssueStatus.IN_PROGRESS]
    ))  # fmt: skip
    assert ages[0] <= 7
    assert ages[-1] > 90
    assert PartnerIssue.objects.filter(status=IssueStatus.RESOLVED).exists()
    assert PartnerIssue.objects.filter(source=IssueSource.PARTNER, raised_by=partner).exists()
    # and the second build changed nothing
    assert counts == (
        StoreVisit.objects.count(), Commitment.objects.count(), PartnerIssue.objects.count(),
    )  # fmt: skip
    assert "partner" in said[0]


def test_the_demo_without_stores_says_so(tree: factories.Tree) -> None:
    factories.user(role=Role.GRID_MANAGER, at=tree.grid_a, username="grid_manager")
    factories.user(role=Role.CHANNEL_MANAGER, at=tree.city_a, username="channel_manager")
    said: list[Any] = []
    build_demo(say=said.append)
    assert not StoreVisit.objects.exists()
    assert "no stores" in said[0]
