"""Merging a duplicate account into another (enterprise.accounts.services.merge)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from quanwang.core.choices import AuditAction, Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import AuditRecord
from quanwang.enterprise.accounts import merging
from quanwang.enterprise.accounts.services.merge import merge_accounts
from quanwang.enterprise.choices import AccountStatus, TeamRole
from quanwang.enterprise.models import (
    Account,
    AccountChange,
    AccountMember,
    AccountMerge,
    AccountProduct,
    AccountTeamMember,
    Opportunity,
)
from quanwang.enterprise.pipeline.choices import OpportunityStatus
from tests import factories
from tests.enterprise import factories as ent


def pair(tree: factories.Tree) -> tuple[Account, Account, Any]:
    """Account A (survivor) and its duplicate B, each with a lead, a member and a product;
    B has a child account. Returns A, B and a county manager's login."""
    a = ent.account(at=tree.grid_a, enterprise_id="A", name="甲集团")
    b = ent.account(at=tree.grid_a, enterprise_id="B", name="甲集团有限公司")
    ent.account(at=tree.grid_a, enterprise_id="B-CHILD", parent=b)
    lead_a = factories.staff(at=tree.county_a, employee_no="LA")
    lead_b = factories.staff(at=tree.county_a, employee_no="LB")
    ent.on_team(account=a, staff=lead_a)
    ent.on_team(account=b, staff=lead_b)
    for account, sid in ((a, "S1"), (b, "S2")):
        AccountMember.objects.create(
            account=account,
            enterprise_id=account.enterprise_id,
            subscriber_id=sid,
            msisdn="13800000000",
        )
        AccountProduct.objects.create(
            account=account,
            enterprise_id=account.enterprise_id,
            product_instance_id=f"P-{sid}",
            product="专线",
        )
    admin = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    return a, b, admin


def opportunity(account: Account, owner: Any) -> Opportunity:
    return Opportunity.objects.create(
        account=account,
        owner=owner,
        title="专线扩容",
        probability=10,
        status=OpportunityStatus.OPEN,
        expected_close=dt.date(2030, 1, 1),
    )


def test_merge_moves_rows_and_keeps_the_duplicate_with_its_history(tree: factories.Tree) -> None:
    a, b, admin = pair(tree)
    # when B is merged into A
    merge = merge_accounts(user=admin, survivor_id="A", merged_id="B", reason="重复建档")
    # then B is kept as MERGED, pointing at A
    b.refresh_from_db()
    assert (b.status, b.merged_into) == (AccountStatus.MERGED, a)
    # and A holds both members and products (each still saying where it came from)
    assert sorted(
        AccountMember.objects.filter(account=a).values_list("enterprise_id", flat=True)
    ) == ["A", "B"]
    assert AccountProduct.objects.filter(account=a).count() == 2
    # and B's lead joins A's team as a supporting manager; A keeps its one lead
    roles = dict(
        AccountTeamMember.objects.filter(account=a).values_list("staff__employee_no", "role")
    )
    assert roles == {"LA": TeamRole.LEAD, "LB": TeamRole.SUPPORT}
    # and B's team rows stay on B (history), B's child is now under A
    assert AccountTeamMember.objects.filter(account=b).count() == 1
    assert Account.objects.get(enterprise_id="B-CHILD").parent == a
    # and the member count is precomputed, the merge recorded, history written and audited
    a.refresh_from_db()
    assert a.member_count == 2
    assert merge.moved["accounts"]["members"] == 1
    assert AccountChange.objects.filter(account=b, kind="merged").exists()
    audit = AuditRecord.objects.get(action=AuditAction.ACCOUNT_MERGED)
    assert audit.target_repr == "B → A"


def test_a_retry_doubles_nothing(tree: factories.Tree) -> None:
    a, _b, admin = pair(tree)
    first = merge_accounts(user=admin, survivor_id="A", merged_id="B", reason="重复建档")
    again = merge_accounts(user=admin, survivor_id="A", merged_id="B", reason="重复建档")
    assert first.pk == again.pk
    assert AccountMerge.objects.count() == 1
    assert AuditRecord.objects.filter(action=AuditAction.ACCOUNT_MERGED).count() == 1
    assert AccountTeamMember.objects.filter(account=a).count() == 2


def test_merging_into_a_third_after_is_refused(tree: factories.Tree) -> None:
    _a, _b, admin = pair(tree)
    ent.account(at=tree.grid_a, enterprise_id="C")
    merge_accounts(user=admin, survivor_id="A", merged_id="B", reason="重复建档")
    with pytest.raises(ServiceError):
        merge_accounts(user=admin, survivor_id="C", merged_id="B", reason="重复建档")
    with pytest.raises(ServiceError):
        merge_accounts(user=admin, survivor_id="B", merged_id="C", reason="重复建档")
    with pytest.raises(ServiceError):
        merge_accounts(user=admin, survivor_id="A", merged_id="A", reason="重复建档")


def test_both_with_open_opportunities_is_refused_and_nothing_changes(
    tree: factories.Tree,
) -> None:
    a, b, admin = pair(tree)
    opportunity(a, a.account_manager)
    opportunity(b, b.account_manager)
    with pytest.raises(ServiceError) as refused:
        merge_accounts(user=admin, survivor_id="A", merged_id="B", reason="重复建档")
    assert refused.value.message
    b.refresh_from_db()
    assert b.status == AccountStatus.ACTIVE
    assert b.merged_into is None
    assert AccountMember.objects.filter(account=b).count() == 1
    assert not AccountMerge.objects.exists()


def test_one_side_with_open_opportunities_merges_and_they_move(tree: factories.Tree) -> None:
    a, b, admin = pair(tree)
    held = opportunity(b, b.account_manager)
    merge_accounts(user=admin, survivor_id="A", merged_id="B", reason="重复建档")
    held.refresh_from_db()
    assert held.account == a


def test_other_parts_hooks_run_and_can_refuse(
    tree: factories.Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    _a, _b, admin = pair(tree)
    calls: list[str] = []
    monkeypatch.setitem(
        merging._HOOKS,
        "test",
        lambda *, survivor, merged: calls.append(merged.enterprise_id) or {"n": 1},
    )
    monkeypatch.setitem(
        merging._CHECKS,
        "test",
        lambda *, survivor, merged, user: "不行" if merged.enterprise_id == "C" else None,
    )
    ent.account(at=tree.grid_a, enterprise_id="C")
    with pytest.raises(ServiceError) as refused:
        merge_accounts(user=admin, survivor_id="A", merged_id="C", reason="重复建档")
    assert refused.value.message == "不行"
    merge = merge_accounts(user=admin, survivor_id="A", merged_id="B", reason="重复建档")
    assert calls == ["B"]
    assert merge.moved["test"] == {"n": 1}


def test_an_account_manager_cannot_merge_and_another_city_is_not_found(
    tree: factories.Tree,
) -> None:
    a, _b, _admin = pair(tree)
    user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.county_a)
    staff = a.account_manager
    staff.user = user
    staff.save()
    with pytest.raises(NotFound):
        merge_accounts(user=user, survivor_id="A", merged_id="B", reason="重复建档")
    other = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    with pytest.raises(NotFound):
        merge_accounts(user=other, survivor_id="A", merged_id="B", reason="重复建档")


def test_a_reason_is_required(tree: factories.Tree) -> None:
    _a, _b, admin = pair(tree)
    with pytest.raises(ServiceError) as refused:
        merge_accounts(user=admin, survivor_id="A", merged_id="B", reason="  ")
    assert refused.value.field == "reason"
