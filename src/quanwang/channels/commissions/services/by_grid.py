"""Commissions paid per grid and month: what the grid P&L reads."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from quanwang.channels.commissions.choices import StatementStatus
from quanwang.channels.models import CommissionStatement


def paid_by_grid(*, month: str) -> dict[str, Decimal]:
    """grid_id → the commission of the approved statements of `month` (YYYY-MM) of the grid's
    stores, adjustments included."""
    rows = (
        CommissionStatement.objects.filter(month=month, status=StatementStatus.APPROVED)
        .exclude(store__grid_id="")
        .values("store__grid_id")
        .annotate(paid=Sum("total"))
        .order_by("store__grid_id")
    )
    return {row["store__grid_id"]: row["paid"] or Decimal(0) for row in rows}
