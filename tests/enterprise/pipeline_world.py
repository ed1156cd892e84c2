"""A small world for the pipeline part's tests: two account managers in two cities, each on
one account's team, a county manager, a province admin, and a catalogue product."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from quanwang.core.choices import Role
from quanwang.core.models import Staff
from quanwang.enterprise.choices import AccountGrade
from quanwang.enterprise.models import Account, IndustryProduct
from quanwang.enterprise.pipeline.choices import OpportunityStage, ProductLine
from quanwang.enterprise.pipeline.services.opportunities import NewOpportunity, create_opportunity
from tests import factories
from tests.enterprise import factories as ent

TODAY = dt.date(2026, 6, 15)
_keys = itertools.count(1)


@dataclass
class World:
    tree: factories.Tree
    am_user: Any
    am: Staff
    other_user: Any
    other: Staff
    county_user: Any
    admin: Any
    a: Account
    far: Account
    product: IndustryProduct


def build(tree: factories.Tree) -> World:
    am_user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a, username="am")
    am = factories.staff(at=tree.grid_a, name="王经理")
    am.user = am_user
    am.save()
    other_user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_b, username="am2")
    other = factories.staff(at=tree.grid_b, name="李经理")
    other.user = other_user
    other.save()
    a = ent.account(at=tree.grid_a, grade=AccountGrade.B, name="甲物流集团", industry="物流")
    far = ent.account(at=tree.grid_b, grade=AccountGrade.A, name="乙制造集团", industry="制造")
    ent.on_team(account=a, staff=am)
    ent.on_team(account=far, staff=other)
    product = IndustryProduct.objects.create(
        code="LOG-FLEET",
        industry="物流",
        name="智慧车队",
        product_lines=[ProductLine.IOT.value, ProductLine.VPN.value],
        list_price_fen=50_000,
    )
    return World(
        tree=tree,
        am_user=am_user,
        am=am,
        other_user=other_user,
        other=other,
        county_user=factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a, username="cm"),
        admin=factories.user(role=Role.PROVINCE_ADMIN, at=tree.province, username="pa"),
        a=a,
        far=far,
        product=product,
    )


def opportunity(
    *,
    user: Any,
    account: Account,
    stage: OpportunityStage = OpportunityStage.LEAD,
    amount_fen: int = 1_000_000,
    probability: int | None = None,
    key: str | None = None,
    **extra: Any,
) -> Any:
    found, _created = create_opportunity(
        user=user,
        data=NewOpportunity(
            account_id=account.pk,
            title=extra.pop("title", "车队物联网方案"),
            expected_close=extra.pop("expected_close", TODAY + dt.timedelta(days=30)),
            idempotency_key=key or f"k{next(_keys)}",
            amount_fen=amount_fen,
            stage=stage,
            probability=probability,
            **extra,
        ),
    )
    return found
