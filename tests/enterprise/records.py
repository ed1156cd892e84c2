"""One of each enterprise record on a grid, for the tests that open every route (tests/web's
every-page walk in zh-hans, tests/test_scoping's outsider walk): an account with its lead
account manager, a key person with a role, a rating and a care moment, a visit, an opportunity
and an industry product. Names carry `mark`, so a page that shows them to an outsider is
caught."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from quanwang.core.models import OrgUnit, Staff
from quanwang.enterprise.choices import ManagerGrade, PersonRole
from quanwang.enterprise.models import (
    Account,
    CareMoment,
    EnterpriseVisit,
    IndustryProduct,
    KeyPerson,
    Opportunity,
)
from quanwang.enterprise.models.persons import CareKind
from quanwang.enterprise.pipeline.choices import OpportunityStage, OpportunityStatus
from tests import factories
from tests.enterprise import factories as enterprise_factories
from tests.enterprise import persons_factories


@dataclass
class EnterpriseRecords:
    account: Account
    manager: Staff
    person: KeyPerson
    moment: CareMoment
    visit: EnterpriseVisit
    opportunity: Opportunity
    product: IndustryProduct


def enterprise_records(
    *, grid: OrgUnit, mark: str, manager_user: Any | None = None, enterprise_id: str | None = None
) -> EnterpriseRecords:
    """The records, the account led by a staff member of `grid` (the login `manager_user`,
    when given, is that staff member's)."""
    today = timezone.localdate()
    manager = factories.staff(at=grid, name=f"{mark}经理")
    if manager_user is not None:
        Staff.objects.filter(pk=manager.pk).update(user=manager_user)
        manager.refresh_from_db()
    enterprise_factories.manager_grade(staff=manager, grade=ManagerGrade.MIDDLE)
    account = enterprise_factories.account(
        at=grid, enterprise_id=enterprise_id, name=f"{mark}集团", grade="B", industry="物流"
    )
    enterprise_factories.on_team(account=account, staff=manager)
    person = persons_factories.person(name=f"{mark}总")
    persons_factories.role(account=account, person=person, role=PersonRole.DECISION_MAKER)
    persons_factories.rating(account=account, person=person, on=today)
    moment = persons_factories.moment(
        person=person, account=account, on=today, kind=CareKind.PROMOTION
    )
    visit = EnterpriseVisit.objects.create(
        account=account,
        visitor=manager,
        visited_on=today - dt.timedelta(days=3),
        purpose="needs",
        outcome=f"{mark}谈了专线扩容",
        next_step="报方案",
        idempotency_key=uuid.uuid4(),
        logged_for=account,
    )
    visit.persons_met.add(person)
    # The industry product catalogue is the province's, read by every unit: no mark.
    product = IndustryProduct.objects.create(
        code=f"P-{uuid.uuid4().hex[:6]}", industry="物流", name="车队管家",
        product_lines=["物联网"], list_price_fen=100_000,
    )  # fmt: skip
    opportunity = Opportunity.objects.create(
        account=account, owner=manager, title=f"{mark}车队物联网方案",
        stage=OpportunityStage.PROPOSAL, status=OpportunityStatus.OPEN, amount_fen=5_000_000,
        probability=40, expected_close=today + dt.timedelta(days=30),
        idempotency_key=uuid.uuid4().hex,
    )  # fmt: skip
    opportunity.products.add(product)
    return EnterpriseRecords(
        account=account, manager=manager, person=person, moment=moment, visit=visit,
        opportunity=opportunity, product=product,
    )  # fmt: skip
