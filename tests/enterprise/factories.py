"""Factories for the enterprise app's shared records (accounts, teams, manager grades). Each
part's own records have their factories next to its tests."""

from __future__ import annotations

import itertools
from typing import Any

from quanwang.core.models import OrgUnit, Staff
from quanwang.enterprise.choices import AccountGrade, ManagerGrade, TeamRole
from quanwang.enterprise.models import Account, AccountManagerProfile, AccountTeamMember

_sequence = itertools.count(1)


def account(
    *,
    at: OrgUnit,
    enterprise_id: str | None = None,
    name: str | None = None,
    parent: Account | None = None,
    grade: AccountGrade | str = AccountGrade.C,
    industry: str = "物流",
    **extra: Any,
) -> Account:
    number = next(_sequence)
    return Account.objects.create(
        enterprise_id=enterprise_id or f"ENT{number:06d}",
        name=name or f"测试集团{number}",
        parent=parent,
        org_unit=at,
        grid_id=at.code,
        grade=grade,
        industry=industry,
        **extra,
    )


def on_team(
    *, account: Account, staff: Staff, role: TeamRole | str = TeamRole.LEAD
) -> AccountTeamMember:
    """Put `staff` on the account's team; the lead also becomes its account manager."""
    member = AccountTeamMember.objects.create(account=account, staff=staff, role=role)
    if role == TeamRole.LEAD:
        Account.objects.filter(pk=account.pk).update(account_manager=staff)
        account.account_manager = staff
    return member


def manager_grade(*, staff: Staff, grade: ManagerGrade | str) -> AccountManagerProfile:
    return AccountManagerProfile.objects.create(staff=staff, grade=grade)
