"""The accounts part's demo: the account_manager login's book, hierarchies, a duplicate."""

from __future__ import annotations

from pathlib import Path

from quanwang.core.choices import Role
from quanwang.enterprise.accounts.demo import DUPLICATE_SUFFIX, build_demo
from quanwang.enterprise.accounts.services.merge import merge_accounts
from quanwang.enterprise.choices import TeamRole
from quanwang.enterprise.models import Account, AccountTeamMember
from tests import factories
from tests.enterprise.accounts_world import enterprise, grids, put


def test_the_demo_builds_a_working_book_and_runs_twice(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given 40 enterprises in county A, 5 served by the account_manager login's staff record
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province, username="admin")
    login = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.county_a, username="account_manager")
    staff = factories.staff(at=tree.county_a, employee_no="AM-DEMO")
    staff.user = login
    staff.save()
    put(
        tmp_path,
        grids=grids(tree),
        enterprises=[
            enterprise(
                f"E{i:03d}",
                tree.grid_a.code,
                grade="ABC"[i % 3],
                account_manager_employee_no="AM-DEMO" if i < 5 else None,
            )
            for i in range(40)
        ],
    )
    said: list[str] = []
    # when the demo is built twice
    build_demo(say=said.append)
    leads = set(
        AccountTeamMember.objects.filter(staff=staff, role=TeamRole.LEAD).values_list(
            "account__enterprise_id", flat=True
        )
    )
    build_demo(say=said.append)
    # then the login leads 20-40 accounts of every grade, the same both times
    again = set(
        AccountTeamMember.objects.filter(staff=staff, role=TeamRole.LEAD).values_list(
            "account__enterprise_id", flat=True
        )
    )
    assert leads == again
    assert 20 <= len(leads) <= 40
    assert set(Account.objects.filter(enterprise_id__in=leads).values_list("grade", flat=True)) == {
        "A",
        "B",
        "C",
    }
    # and there are group hierarchies, and a duplicate the admin can merge
    assert Account.objects.filter(children__isnull=False).distinct().count() >= 3
    duplicate = Account.objects.get(enterprise_id__endswith=DUPLICATE_SUFFIX)
    merge_accounts(
        user=admin,
        survivor_id=duplicate.enterprise_id[: -len(DUPLICATE_SUFFIX)],
        merged_id=duplicate.enterprise_id,
        reason="重复建档",
    )
    assert said


def test_a_book_over_forty_is_trimmed_to_a_colleague(tree: factories.Tree, tmp_path: Path) -> None:
    # given 60 enterprises served by the login's staff record, and a colleague
    factories.user(role=Role.PROVINCE_ADMIN, at=tree.province, username="admin")
    login = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.county_a, username="account_manager")
    staff = factories.staff(at=tree.county_a, employee_no="AM-DEMO")
    staff.user = login
    staff.save()
    factories.staff(at=tree.county_a, employee_no="AM-OTHER")
    put(
        tmp_path,
        grids=grids(tree),
        enterprises=[
            enterprise(f"E{i:03d}", tree.grid_a.code, account_manager_employee_no="AM-DEMO")
            for i in range(60)
        ],
    )
    # when the demo is built (twice)
    build_demo(say=lambda _text: None)
    build_demo(say=lambda _text: None)
    # then the login leads, and sees, at most 40 accounts
    led = AccountTeamMember.objects.filter(staff=staff, role=TeamRole.LEAD).count()
    assert 20 <= led <= 40
    assert AccountTeamMember.objects.filter(staff=staff).count() == led
