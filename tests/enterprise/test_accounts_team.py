"""Team, lead, ownership and hierarchy changes in the console (enterprise.accounts)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.accounts.choices import ChangeKind, Source
from quanwang.enterprise.accounts.services.team import (
    add_member,
    change_ownership,
    move_account,
    remove_member,
    set_lead,
)
from quanwang.enterprise.accounts.services.tree import descendants, find_cycle
from quanwang.enterprise.choices import Ownership, TeamRole
from quanwang.enterprise.models import Account, AccountChange, AccountTeamMember
from tests import factories
from tests.enterprise import factories as ent


def manager_login(tree: factories.Tree, account: Account) -> Any:
    """An account manager's login, lead of `account`."""
    user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.county_a)
    staff = factories.staff(at=tree.county_a)
    staff.user = user
    staff.save()
    ent.on_team(account=account, staff=staff)
    return user


def test_descendants_walks_the_whole_subtree(tree: factories.Tree) -> None:
    # given a group with two levels below it and an unrelated account
    top = ent.account(at=tree.grid_a, enterprise_id="T")
    a = ent.account(at=tree.grid_a, enterprise_id="A", parent=top)
    b = ent.account(at=tree.grid_a, enterprise_id="B", parent=top)
    a1 = ent.account(at=tree.grid_a, enterprise_id="A1", parent=a)
    ent.account(at=tree.grid_a, enterprise_id="Z")
    # then
    assert descendants(top) == [a, b, a1]
    assert descendants(a1) == []


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from("ABCDEFG"), st.sampled_from("ABCDEFG") | st.none()))
def test_find_cycle_finds_a_cycle_exactly_when_one_exists(parents: dict[str, Any]) -> None:
    cycle = find_cycle(parents)

    # a brute-force check: following parents from some node comes back to it
    def loops(start: str) -> bool:
        node, seen = parents.get(start), 0
        while node is not None and seen <= len(parents):
            if node == start:
                return True
            node, seen = parents.get(node), seen + 1
        return False

    assert (cycle is not None) == any(loops(n) for n in parents)
    if cycle:
        # every reported node's parent is the next one, the last's the first
        for here, there in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            assert parents[here] == there


def test_moving_under_a_descendant_is_refused(tree: factories.Tree) -> None:
    # given T → A → A1 and a county manager
    admin = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    top = ent.account(at=tree.grid_a, enterprise_id="T")
    a = ent.account(at=tree.grid_a, enterprise_id="A", parent=top)
    ent.account(at=tree.grid_a, enterprise_id="A1", parent=a)
    # when T is moved under A1
    with pytest.raises(ServiceError) as refused:
        move_account(user=admin, enterprise_id="T", parent_enterprise_id="A1", reason="整合")
    # then the error names the cycle and nothing moved
    assert all(i in refused.value.message for i in ("T", "A", "A1"))
    assert Account.objects.get(enterprise_id="T").parent is None


def test_move_records_history_and_the_console_wins(tree: factories.Tree) -> None:
    admin = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    ent.account(at=tree.grid_a, enterprise_id="T")
    ent.account(at=tree.grid_a, enterprise_id="A")
    # when A is moved under T twice (a second click)
    move_account(user=admin, enterprise_id="A", parent_enterprise_id="T", reason="归属调整")
    move_account(user=admin, enterprise_id="A", parent_enterprise_id="T", reason="归属调整")
    # then it is under T, marked as the console's, with one history entry
    a = Account.objects.get(enterprise_id="A")
    assert a.parent.enterprise_id == "T"
    assert a.parent_source == Source.CONSOLE
    assert AccountChange.objects.filter(account=a, kind=ChangeKind.PARENT).count() == 1


def test_team_members_and_the_one_lead(tree: factories.Tree) -> None:
    # given an account led by an account manager, and two colleagues in the county
    account = ent.account(at=tree.grid_a, enterprise_id="A")
    user = manager_login(tree, account)
    colleague = factories.staff(at=tree.county_a, employee_no="E-COL")
    other = factories.staff(at=tree.county_a, employee_no="E-OTH")
    # when the manager adds a colleague (twice: a double click) and hands over the lead
    add_member(user=user, enterprise_id="A", employee_no="E-COL", role=TeamRole.SOLUTION)
    add_member(user=user, enterprise_id="A", employee_no="E-COL", role=TeamRole.SOLUTION)
    set_lead(user=user, enterprise_id="A", employee_no="E-OTH", reason="交接")
    # then there is one lead, the old lead supports, and the account follows
    team = dict(AccountTeamMember.objects.filter(account=account).values_list("staff", "role"))
    assert team[colleague.pk] == TeamRole.SOLUTION
    assert team[other.pk] == TeamRole.LEAD
    assert list(team.values()).count(TeamRole.LEAD) == 1
    account.refresh_from_db()
    assert account.account_manager == other
    # and the lead cannot be removed, a colleague can (twice is a no-op)
    with pytest.raises(ServiceError):
        remove_member(user=user, enterprise_id="A", employee_no="E-OTH")
    assert remove_member(user=user, enterprise_id="A", employee_no="E-COL") is True
    assert remove_member(user=user, enterprise_id="A", employee_no="E-COL") is False


def test_add_member_refuses_lead_role_and_unknown_staff(tree: factories.Tree) -> None:
    account = ent.account(at=tree.grid_a, enterprise_id="A")
    user = manager_login(tree, account)
    with pytest.raises(ServiceError) as refused:
        add_member(user=user, enterprise_id="A", employee_no="NOPE", role=TeamRole.SUPPORT)
    assert refused.value.field == "employee_no"
    with pytest.raises(ServiceError) as refused:
        add_member(user=user, enterprise_id="A", employee_no="NOPE", role=TeamRole.LEAD)
    assert refused.value.field == "role"


def test_an_account_manager_changes_only_their_own_accounts(tree: factories.Tree) -> None:
    # given the manager's account and another account in the same county
    mine = ent.account(at=tree.grid_a, enterprise_id="MINE")
    ent.account(at=tree.grid_a, enterprise_id="THEIRS")
    user = manager_login(tree, mine)
    # then changes to the other account are NotFound, to theirs they work
    with pytest.raises(NotFound):
        change_ownership(
            user=user, enterprise_id="THEIRS", ownership=Ownership.PROJECT, reason="大客户"
        )
    with pytest.raises(NotFound):
        add_member(user=user, enterprise_id="THEIRS", employee_no="x", role=TeamRole.SUPPORT)
    change_ownership(user=user, enterprise_id="MINE", ownership=Ownership.PROJECT, reason="大客户")
    mine.refresh_from_db()
    assert (mine.ownership, mine.ownership_source) == (Ownership.PROJECT, Source.CONSOLE)


def test_ownership_change_needs_a_reason_and_a_known_model(tree: factories.Tree) -> None:
    admin = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    ent.account(at=tree.grid_a, enterprise_id="A")
    with pytest.raises(ServiceError) as refused:
        change_ownership(user=admin, enterprise_id="A", ownership=Ownership.PROJECT, reason=" ")
    assert refused.value.field == "reason"
    with pytest.raises(ServiceError) as refused:
        change_ownership(user=admin, enterprise_id="A", ownership="boss", reason="x")
    assert refused.value.field == "ownership"


def test_another_city_is_not_found(tree: factories.Tree) -> None:
    admin_b = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    ent.account(at=tree.grid_a, enterprise_id="A")
    with pytest.raises(NotFound):
        move_account(user=admin_b, enterprise_id="A", parent_enterprise_id=None, reason="x")
