"""Two merges, two lead changes or two syncs at once (two clicks, two managers, the import's
hook and the nightly step): one wins, nothing doubles.

Threads with their own connections, on PostgreSQL (SQLite's shared in-memory test database
refuses a second writer where a server waits for the row lock; the sequential retries are
tested everywhere in test_accounts_merge and test_accounts_team).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from quanwang.core.choices import AuditAction, Role
from quanwang.core.models import AuditRecord
from quanwang.enterprise.accounts.services.merge import merge_accounts
from quanwang.enterprise.accounts.services.sync import sync_accounts
from quanwang.enterprise.accounts.services.team import set_lead
from quanwang.enterprise.choices import AccountStatus, TeamRole
from quanwang.enterprise.models import Account, AccountMerge, AccountTeamMember
from tests import factories
from tests.concurrency import at_once
from tests.enterprise import factories as ent
from tests.enterprise.accounts_world import enterprise, grids, put

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks"),
]


def test_two_merges_at_once_merge_once() -> None:
    tree = factories.Tree()
    ent.account(at=tree.grid_a, enterprise_id="A")
    ent.account(at=tree.grid_a, enterprise_id="B")
    admin = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    def merge(survivor: str, merged: str) -> Callable[[], Any]:
        return lambda: merge_accounts(
            user=admin, survivor_id=survivor, merged_id=merged, reason="重复建档"
        )

    # the same merge twice, and the opposite one, all at once
    at_once(merge("A", "B"), merge("A", "B"), merge("B", "A"))
    assert AccountMerge.objects.count() == 1
    assert AuditRecord.objects.filter(action=AuditAction.ACCOUNT_MERGED).count() == 1
    assert Account.objects.filter(status=AccountStatus.MERGED).count() == 1


def test_two_lead_changes_at_once_leave_one_lead() -> None:
    tree = factories.Tree()
    account = ent.account(at=tree.grid_a, enterprise_id="A")
    admin = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    factories.staff(at=tree.county_a, employee_no="X")
    factories.staff(at=tree.county_a, employee_no="Y")
    results = at_once(
        lambda: set_lead(user=admin, enterprise_id="A", employee_no="X", reason="交接"),
        lambda: set_lead(user=admin, enterprise_id="A", employee_no="Y", reason="交接"),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    leads = AccountTeamMember.objects.filter(account=account, role=TeamRole.LEAD)
    assert leads.count() == 1
    account.refresh_from_db()
    assert account.account_manager == leads.get().staff


def test_two_syncs_at_once_create_each_account_once(tmp_path: Path) -> None:
    tree = factories.Tree()
    put(
        tmp_path,
        grids=grids(tree),
        enterprises=[enterprise(f"E{i}", tree.grid_a.code) for i in range(50)],
    )
    results = at_once(sync_accounts, sync_accounts)
    assert not [r for r in results if isinstance(r, Exception)]
    assert Account.objects.count() == 50
