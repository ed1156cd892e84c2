"""A small world for the work part's tests: a county with two account managers (one junior),
another county's manager, accounts of each grade and the logins that read them."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from quanwang.core.choices import Role
from quanwang.core.models import Staff
from quanwang.enterprise.choices import AccountGrade, ManagerGrade
from quanwang.enterprise.models import Account, EnterpriseVisit
from quanwang.enterprise.models.work import VisitPurpose
from tests import factories
from tests.enterprise import factories as ent

TODAY = dt.date(2026, 6, 15)


@dataclass
class World:
    tree: factories.Tree
    am_user: Any
    am: Staff
    other_user: Any
    other: Staff
    county_user: Any
    auditor: Any
    admin: Any
    a: Account
    b: Account
    c: Account
    far: Account


def build(tree: factories.Tree) -> World:
    am_user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a, username="am")
    am = factories.staff(at=tree.grid_a, name="王经理")
    am.user = am_user
    am.save()
    other_user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_b, username="am2")
    other = factories.staff(at=tree.grid_b, name="李经理")
    other.user = other_user
    other.save()
    ent.manager_grade(staff=am, grade=ManagerGrade.JUNIOR)
    ent.manager_grade(staff=other, grade=ManagerGrade.MIDDLE)
    a = ent.account(at=tree.grid_a, grade=AccountGrade.A, name="甲集团")
    b = ent.account(at=tree.grid_a, grade=AccountGrade.B, name="乙集团")
    c = ent.account(at=tree.grid_a, grade=AccountGrade.C, name="丙集团")
    far = ent.account(at=tree.grid_b, grade=AccountGrade.A, name="远方集团")
    for account in (a, b, c):
        ent.on_team(account=account, staff=am)
    ent.on_team(account=far, staff=other)
    return World(
        tree=tree,
        am_user=am_user,
        am=am,
        other_user=other_user,
        other=other,
        county_user=factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a),
        auditor=factories.user(role=Role.AUDITOR, at=tree.province),
        admin=factories.user(role=Role.PROVINCE_ADMIN, at=tree.province),
        a=a,
        b=b,
        c=c,
        far=far,
    )


def visit(
    *,
    account: Account,
    visitor: Staff,
    on: dt.date,
    purpose: str = VisitPurpose.NEEDS,
    follow_up_on: dt.date | None = None,
    next_step: str = "",
) -> EnterpriseVisit:
    """A visit written directly (the service checks today's date; these tests set the past)."""
    return EnterpriseVisit.objects.create(
        account=account,
        visitor=visitor,
        visited_on=on,
        purpose=purpose,
        outcome="谈了专线扩容",
        next_step=next_step,
        follow_up_on=follow_up_on,
        idempotency_key=uuid.uuid4(),
        logged_for=account,
    )
