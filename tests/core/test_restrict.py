from __future__ import annotations

from quanwang.core.choices import Action, Role
from quanwang.core.models import OrgUnit, RoleAssignment, Staff
from quanwang.core.services.scope import choose_scope
from tests import factories


def test_a_city_role_sees_its_city_subtree_only(tree: factories.Tree) -> None:
    # Given a city marketer in city A
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    # When their org units are listed
    codes = set(OrgUnit.objects.restrict(user).values_list("code", flat=True))

    # Then they are city A and everything below it
    assert codes == {"CA", "CA-1", "CA-1-G1"}


def test_a_grid_manager_sees_staff_of_their_grid_only(tree: factories.Tree) -> None:
    # Given staff in two grids and a grid manager of one
    mine = factories.staff(at=tree.grid_a)
    factories.staff(at=tree.grid_b)
    factories.staff(at=tree.county_a)
    user = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    # When staff are listed for them
    visible = list(Staff.objects.restrict(user))

    # Then only the staff of their grid are there
    assert visible == [mine]


def test_an_auditor_may_read_but_not_change(tree: factories.Tree) -> None:
    # Given an auditor at the province
    user = factories.user(role=Role.AUDITOR, at=tree.province)

    # When asked what they may view and change
    viewable = OrgUnit.objects.restrict(user, Action.VIEW).count()
    changeable = OrgUnit.objects.restrict(user, Action.CHANGE).count()

    # Then they view everything and change nothing
    assert (viewable, changeable) == (7, 0)


def test_an_agency_never_sees_staff_personal_data(tree: factories.Tree) -> None:
    # Given an agency at the province and staff everywhere
    factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.AGENCY, at=tree.province)

    # When staff are listed for it
    visible = Staff.objects.restrict(user).count()

    # Then none are
    assert visible == 0


def test_a_user_without_roles_sees_nothing(tree: factories.Tree) -> None:
    user = factories.user()

    assert OrgUnit.objects.restrict(user).count() == 0


def test_choosing_a_scope_narrows_a_user_with_two_roles(tree: factories.Tree) -> None:
    # Given a user who is county manager in city A and city marketer in city B
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    second = RoleAssignment.objects.create(user=user, role=Role.CITY_MARKETER, org_unit=tree.city_b)

    # When they choose the city B scope
    choose_scope(user=user, assignment_id=second.pk)
    codes = set(OrgUnit.objects.restrict(user).values_list("code", flat=True))

    # Then only city B's subtree is in reach
    assert codes == {"CB", "CB-1", "CB-1-G1"}
