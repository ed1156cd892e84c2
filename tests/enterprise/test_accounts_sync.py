"""The account file follows the warehouse (enterprise.accounts.services.sync)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from quanwang.core.errors import ServiceError
from quanwang.data.after_import import run_after_import
from quanwang.enterprise.accounts.choices import Source
from quanwang.enterprise.accounts.services.sync import (
    PROJECT_SIZE,
    default_ownership,
    sync_accounts,
)
from quanwang.enterprise.choices import AccountStatus, Ownership, TeamRole
from quanwang.enterprise.models import Account, AccountMember, AccountProduct, AccountTeamMember
from tests import factories
from tests.enterprise.accounts_world import enterprise, grids, put


def snapshot() -> list[dict[str, Any]]:
    return list(
        Account.objects.order_by("enterprise_id").values(
            "enterprise_id", "name", "org_unit__code", "active", "status", "grade", "parent_id",
            "ownership", "account_manager_id", "member_count",
        )
    )  # fmt: skip


def test_sync_builds_accounts_with_units_parents_and_leads(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a group with a branch, a manager known by employee number, members and products
    manager = factories.staff(at=tree.county_a, employee_no="AM001")
    put(
        tmp_path,
        grids=grids(tree),
        enterprises=[
            enterprise("G1", tree.grid_a.code, size=2000, account_manager_employee_no="AM001"),
            enterprise("B1", tree.grid_b.code, parent="G1", industry="餐饮住宿"),
            enterprise("X1", "NOWHERE", grade="B"),
        ],
        subscribers=[
            {"subscriber_id": "S1", "msisdn": "13800000001"},
            {"subscriber_id": "S2", "msisdn": "13800000002"},
        ],
        enterprise_members=[
            {"enterprise_id": "G1", "subscriber_id": "S1", "role": "关键人"},
            {"enterprise_id": "B1", "subscriber_id": "S2"},
        ],
        enterprise_products=[
            {"product_instance_id": "P1", "enterprise_id": "G1", "product": "专线",
             "contract_end": dt.date(2030, 1, 31), "monthly_fee": 1200.5, "agreement": True},
        ],
    )  # fmt: skip
    # when the account file is synced
    report = sync_accounts()
    # then each account sits in its grid's unit (else the root), under its parent
    assert (report.listed, report.created) == (3, 3)
    g1, b1, x1 = (Account.objects.get(enterprise_id=i) for i in ("G1", "B1", "X1"))
    assert g1.org_unit == tree.grid_a
    assert b1.org_unit == tree.grid_b
    assert x1.org_unit == tree.province
    assert b1.parent == g1
    assert g1.parent is None
    # and the very large account goes to the province project team, the small one regional
    assert g1.ownership == Ownership.PROJECT
    assert b1.ownership == Ownership.REGIONAL
    # and the warehouse's manager is the lead, kept in step with account_manager
    lead = AccountTeamMember.objects.get(account=g1)
    assert (lead.staff, lead.role, lead.source) == (manager, TeamRole.LEAD, Source.IMPORT)
    assert g1.account_manager == manager
    # and members and products are copied for the page, with the count precomputed
    assert g1.member_count == 1
    assert b1.member_count == 1
    assert AccountMember.objects.get(subscriber_id="S1").msisdn == "13800000001"
    product = AccountProduct.objects.get(product_instance_id="P1")
    assert (product.account, product.monthly_fee_fen, product.agreement) == (g1, 120050, True)
    assert x1.grade == "B"


def test_sync_twice_changes_nothing(tree: factories.Tree, tmp_path: Path) -> None:
    # given a synced account file
    factories.staff(at=tree.county_a, employee_no="AM001")
    put(
        tmp_path,
        grids=grids(tree),
        enterprises=[
            enterprise("G1", tree.grid_a.code, account_manager_employee_no="AM001"),
            enterprise("B1", tree.grid_a.code, parent="G1"),
        ],
    )
    sync_accounts()
    before = snapshot()
    # when it is synced again (a retry, or the nightly step after the import's hook)
    report = sync_accounts()
    # then nothing changed and nothing doubled
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert snapshot() == before
    assert AccountTeamMember.objects.count() == 1


def test_account_no_longer_listed_becomes_inactive_and_comes_back(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given two synced accounts
    rows = [enterprise("A1", tree.grid_a.code), enterprise("A2", tree.grid_a.code)]
    put(tmp_path, grids=grids(tree), enterprises=rows)
    sync_accounts()
    # when a later extract lists A1 only
    put(tmp_path, enterprises=rows[:1])
    report = sync_accounts()
    # then A2 is inactive, never deleted
    assert report.deactivated == 1
    assert Account.objects.get(enterprise_id="A2").active is False
    # and listed again, it is active again
    put(tmp_path, enterprises=rows)
    assert sync_accounts().reactivated == 1
    assert Account.objects.get(enterprise_id="A2").active is True


def test_a_cycle_is_refused_naming_the_ids_and_nothing_changes(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a synced file, then an extract where C1 → C2 → C3 → C1
    put(tmp_path, grids=grids(tree), enterprises=[enterprise("C1", tree.grid_a.code)])
    sync_accounts()
    before = snapshot()
    put(
        tmp_path,
        enterprises=[
            enterprise("C1", tree.grid_a.code, parent="C3", name="改名"),
            enterprise("C2", tree.grid_a.code, parent="C1"),
            enterprise("C3", tree.grid_a.code, parent="C2"),
        ],
    )
    # when it is synced
    with pytest.raises(ServiceError) as refused:
        sync_accounts()
    # then the error names every enterprise of the cycle, and nothing was written
    for eid in ("C1", "C2", "C3"):
        assert eid in refused.value.message
    assert snapshot() == before


def test_the_console_wins_over_a_later_import(tree: factories.Tree, tmp_path: Path) -> None:
    # given a synced account whose ownership, parent and lead were then set in the console
    first = factories.staff(at=tree.county_a, employee_no="AM001")
    chosen = factories.staff(at=tree.county_a, employee_no="AM002")
    factories.staff(at=tree.county_a, employee_no="AM003")
    put(
        tmp_path,
        grids=grids(tree),
        enterprises=[
            enterprise("P1", tree.grid_a.code),
            enterprise("A1", tree.grid_a.code, account_manager_employee_no="AM001"),
        ],
    )
    sync_accounts()
    account = Account.objects.get(enterprise_id="A1")
    assert account.account_manager == first
    Account.objects.filter(pk=account.pk).update(
        ownership=Ownership.PROJECT, ownership_source=Source.CONSOLE, parent_source=Source.CONSOLE
    )
    AccountTeamMember.objects.filter(account=account).update(staff=chosen, source=Source.CONSOLE)
    # when the warehouse names another manager and a parent
    put(
        tmp_path,
        enterprises=[
            enterprise("P1", tree.grid_a.code),
            enterprise("A1", tree.grid_a.code, parent="P1", account_manager_employee_no="AM003"),
        ],
    )
    sync_accounts()
    # then what the console decided stands
    account.refresh_from_db()
    assert account.ownership == Ownership.PROJECT
    assert account.parent is None
    assert account.account_manager == chosen
    assert AccountTeamMember.objects.get(account=account, role=TeamRole.LEAD).staff == chosen


def test_an_imported_lead_follows_the_warehouse(tree: factories.Tree, tmp_path: Path) -> None:
    # given an account led by the warehouse's manager
    factories.staff(at=tree.county_a, employee_no="AM001")
    second = factories.staff(at=tree.county_a, employee_no="AM002")
    put(
        tmp_path,
        grids=grids(tree),
        enterprises=[enterprise("A1", tree.grid_a.code, account_manager_employee_no="AM001")],
    )
    sync_accounts()
    # when the warehouse names another manager
    put(
        tmp_path,
        enterprises=[enterprise("A1", tree.grid_a.code, account_manager_employee_no="AM002")],
    )
    sync_accounts()
    # then the new one is the only lead, and the account's manager
    account = Account.objects.get(enterprise_id="A1")
    assert list(AccountTeamMember.objects.filter(account=account).values_list("staff", "role")) == [
        (second.pk, TeamRole.LEAD)
    ]
    assert account.account_manager == second


def test_warehouse_status_and_merged_accounts(tree: factories.Tree, tmp_path: Path) -> None:
    # given a suspended account and a merged one the warehouse still lists
    put(
        tmp_path,
        grids=grids(tree),
        enterprises=[
            enterprise("A1", tree.grid_a.code, status="停业"),
            enterprise("A2", tree.grid_a.code),
            enterprise("A3", tree.grid_a.code),
        ],
        subscribers=[{"subscriber_id": "S1", "msisdn": "13800000001"}],
        enterprise_members=[{"enterprise_id": "A3", "subscriber_id": "S1"}],
    )
    sync_accounts()
    a2 = Account.objects.get(enterprise_id="A2")
    Account.objects.filter(enterprise_id="A3").update(status=AccountStatus.MERGED, merged_into=a2)
    # when synced again
    sync_accounts()
    # then the suspended account is dormant, the merged one stays merged, and its
    # warehouse members belong to the survivor
    assert Account.objects.get(enterprise_id="A1").status == AccountStatus.DORMANT
    assert Account.objects.get(enterprise_id="A3").status == AccountStatus.MERGED
    member = AccountMember.objects.get(subscriber_id="S1")
    assert (member.account, member.enterprise_id) == (a2, "A3")
    a2.refresh_from_db()
    assert a2.member_count == 1


def test_the_import_hook_and_the_command_run_the_sync(
    tree: factories.Tree, tmp_path: Path, capsys: Any
) -> None:
    # given enterprises in the warehouse
    put(tmp_path, grids=grids(tree), enterprises=[enterprise("A1", tree.grid_a.code)])
    # when the import hook of the enterprises table runs, then the command
    result = run_after_import("enterprises")
    call_command("sync-accounts")
    # then the account exists and both reported
    assert "account_file" in result
    assert Account.objects.filter(enterprise_id="A1").exists()
    assert capsys.readouterr().out.strip()


def test_default_ownership_thresholds() -> None:
    assert default_ownership(size=PROJECT_SIZE, industry="制造业") == Ownership.PROJECT
    assert default_ownership(size=PROJECT_SIZE - 1, industry="制造业") == Ownership.REGIONAL
    assert default_ownership(size=None, industry="金融") == Ownership.PROJECT
