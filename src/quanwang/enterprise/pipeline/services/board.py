"""The pipeline board (商机看板): the open stages as columns, each with its opportunities,
their count, amount and weighted amount (amount × probability), per manager (the owner) or
per unit (the accounts of an org unit's subtree). Won this month and lost this month sit
beside it, not in it: the board is what is still to win.

Sums are computed by the database over the same rows the columns list, so the columns' sums
always add up to the board's total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Q, QuerySet, Sum

from quanwang.core.models import OrgUnit, Staff
from quanwang.enterprise.models import Opportunity
from quanwang.enterprise.pipeline.choices import OpportunityStage, OpportunityStatus
from quanwang.enterprise.pipeline.services import visible_opportunities
from quanwang.enterprise.pipeline.services.stages import OPEN_STAGES

#: Cards listed per column; the sums count every opportunity.
CARDS_SHOWN = 50


@dataclass
class Column:
    stage: OpportunityStage
    count: int = 0
    amount_fen: int = 0
    weighted_fen: int = 0
    cards: list[Opportunity] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(self.stage.label)

    @property
    def amount_yuan(self) -> float:
        return self.amount_fen / 100

    @property
    def weighted_yuan(self) -> float:
        return self.weighted_fen / 100


@dataclass
class Board:
    columns: list[Column]
    won_count: int
    won_fen: int
    lost_count: int
    manager: Staff | None = None
    unit: OrgUnit | None = None

    @property
    def count(self) -> int:
        return sum(c.count for c in self.columns)

    @property
    def amount_fen(self) -> int:
        return sum(c.amount_fen for c in self.columns)

    @property
    def weighted_fen(self) -> int:
        return sum(c.weighted_fen for c in self.columns)

    @property
    def amount_yuan(self) -> float:
        return self.amount_fen / 100

    @property
    def weighted_yuan(self) -> float:
        return self.weighted_fen / 100

    @property
    def won_yuan(self) -> float:
        return self.won_fen / 100


def _narrowed(*, user: Any, manager: Staff | None, unit: OrgUnit | None) -> QuerySet[Opportunity]:
    rows = visible_opportunities(user=user)
    if manager is not None:
        rows = rows.filter(owner=manager)
    if unit is not None:
        rows = rows.filter(account__org_unit__path__startswith=unit.path)
    return rows


def weighted_sum() -> Any:
    """Σ amount × probability / 100, per row rounded down (as Opportunity.weighted_fen)."""
    per_row = ExpressionWrapper(
        F("amount_fen") * F("probability") / 100, output_field=BigIntegerField()
    )
    return Sum(per_row, output_field=BigIntegerField())


def board(
    *,
    user: Any,
    manager: Staff | None = None,
    unit: OrgUnit | None = None,
    today: dt.date,
    cards: int = CARDS_SHOWN,
) -> Board:
    """The board of what `user` may view, narrowed to `manager`'s opportunities and/or to
    `unit`'s accounts."""
    rows = _narrowed(user=user, manager=manager, unit=unit)
    open_rows = rows.filter(status=OpportunityStatus.OPEN)
    # Integer division per row in the database matches weighted_fen on every engine:
    # amount_fen and probability are integers, so "/" is integer division in SQL.
    sums = {
        row["stage"]: row
        for row in open_rows.values("stage").annotate(
            n=Count("pk"), amount=Sum("amount_fen"), weighted=weighted_sum()
        )
    }
    columns = []
    for stage in OPEN_STAGES:
        found = sums.get(stage.value, {})
        column = Column(
            stage=stage,
            count=found.get("n", 0),
            amount_fen=int(found.get("amount") or 0),
            weighted_fen=int(found.get("weighted") or 0),
        )
        if column.count:
            column.cards = list(
                open_rows.filter(stage=stage)
                .select_related("account", "owner")
                .order_by("expected_close", "pk")[:cards]
            )
        columns.append(column)
    month_start = today.replace(day=1)
    closed = rows.filter(closed_on__gte=month_start, closed_on__lte=today).aggregate(
        won=Count("pk", filter=Q(status=OpportunityStatus.WON)),
        won_fen=Sum("amount_fen", filter=Q(status=OpportunityStatus.WON)),
        lost=Count("pk", filter=Q(status=OpportunityStatus.LOST)),
    )
    return Board(
        columns=columns,
        won_count=closed["won"] or 0,
        won_fen=int(closed["won_fen"] or 0),
        lost_count=closed["lost"] or 0,
        manager=manager,
        unit=unit,
    )


def managers_in_view(*, user: Any) -> QuerySet[Staff]:
    """The owners of the opportunities `user` may view (the board's manager filter)."""
    owners = visible_opportunities(user=user).values("owner_id")
    return Staff.objects.filter(pk__in=owners).order_by("name")
