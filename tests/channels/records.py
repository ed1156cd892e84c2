"""One of each channels record on a grid, for the tests that open every route (tests/web's
every-page walk in zh-hans, tests/test_scoping's outsider walk): a store with a partner login,
a visit with a commitment and an issue, a commission rule set with a rule, and a statement.
Names carry `mark`, so a page that shows them to an outsider is caught."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from quanwang.channels.choices import PartnerStage, StoreGrade, StoreType
from quanwang.channels.commissions.choices import RunStatus
from quanwang.channels.models import (
    CommissionRule,
    CommissionRuleSet,
    CommissionRun,
    CommissionStatement,
    Commitment,
    PartnerIssue,
    Store,
    StoreVisit,
)
from quanwang.channels.visits.choices import CommitmentSide, IssueCategory
from quanwang.channels.visits.services.visit_log import (
    CommitmentInput,
    IssueInput,
    VisitNotes,
    log_visit,
)
from quanwang.core.choices import Role
from quanwang.core.models import OrgUnit
from tests import factories


@dataclass
class ChannelRecords:
    store: Store
    partner: Any
    visit: StoreVisit
    commitment: Commitment
    issue: PartnerIssue
    rule_set: CommissionRuleSet
    rule: CommissionRule
    statement: CommissionStatement | None


def channel_records(
    *,
    grid: OrgUnit,
    mark: str,
    month: str = "2024-06",
    store_id: str | None = None,
    statement: bool = True,
) -> ChannelRecords:
    """The records on `grid` (an org unit of level grid); `month` is the statement's. Without
    `statement` no statement is made (a test computes a real one from its warehouse): the
    one made here has a header only, no lines file, for walks that must be refused it."""
    county = grid.parent
    assert county is not None
    # A store the warehouse lists is already in the store file (synced on import): take it.
    store, _created = Store.objects.update_or_create(
        store_id=store_id or f"ST-{grid.code}",
        defaults={
            "name": f"{mark}-store", "store_type": StoreType.PARTNER, "grade": StoreGrade.KEY,
            "org_unit": grid, "grid_id": grid.code, "owner_name": f"{mark}店主",
            "contact_msisdn": "13900001111", "partner_stage": PartnerStage.COURTING,
        },
    )  # fmt: skip
    partner = factories.user(role=Role.CHANNEL_PARTNER, at=grid, username=f"{mark.lower()}-p")
    store.partners.add(partner)
    visitor = factories.user(role=Role.GRID_MANAGER, at=grid, username=f"{mark.lower()}-gm")
    today = timezone.localdate()
    logged = log_visit(
        user=visitor,
        store_pk=store.pk,
        visited_on=today - dt.timedelta(days=1),
        notes=VisitNotes(
            how_are_things=f"{mark}-近况",
            new_plans=f"{mark}-新情",
            our_support=f"{mark}-支持",
            their_commitment=f"{mark}-承诺",
        ),
        idempotency_key=uuid.uuid4(),
        commitments=[CommitmentInput(CommitmentSide.OURS, f"{mark}-物料", today)],
        issue=IssueInput(IssueCategory.LATE_SUPPLY, f"{mark}-供货慢"),
    )
    rule_set = CommissionRuleSet.objects.create(
        name=f"{mark}-酬金", valid_from=dt.date(2024, 1, 1), org_unit=county, created_by=visitor
    )
    rule = CommissionRule.objects.create(
        rule_set=rule_set, product="号卡", store_type="", fixed_amount=Decimal(50)
    )
    made = None
    if statement:
        made = _statement(store=store, month=month, mark=mark, by=visitor)
    return ChannelRecords(
        store=store,
        partner=partner,
        visit=logged.visit,
        commitment=logged.visit.commitments.get(),
        issue=PartnerIssue.objects.get(store=store),
        rule_set=rule_set,
        rule=rule,
        statement=made,
    )


def _statement(*, store: Store, month: str, mark: str, by: Any) -> CommissionStatement:
    run = CommissionRun.objects.create(month=month, status=RunStatus.COMPUTED, started_by=by)
    return CommissionStatement.objects.create(
        run=run,
        store=store,
        month=month,
        lines_path=f"commissions/{mark}.parquet",
        fingerprint="0" * 64,
        computed_by=by,
        computed_at=timezone.now(),
    )
