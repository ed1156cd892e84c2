"""Commissions paid per grid and month: what the grid P&L reads."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

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


def paid_lines(*, grid_id: str, month: str) -> list[dict[str, object]]:
    """The facts behind a grid's commissions of `month`: its stores' approved statements, each
    with its total (adjustments included, as paid_by_grid sums them)."""
    statements = (
        CommissionStatement.objects.filter(
            month=month, status=StatementStatus.APPROVED, store__grid_id=grid_id
        )
        .select_related("store")
        .order_by("store__store_id")
    )
    return [
        {
            _("Store ID"): s.store.store_id,
            _("Store"): s.store.name,
            _("Statement"): s.pk,
            _("Adjustments (yuan)"): s.adjustment_total,
            _("Total (yuan)"): s.total,
            _("Approved at"): timezone.localtime(s.approved_at).strftime("%Y-%m-%d %H:%M")
            if s.approved_at
            else "",
        }
        for s in statements
    ]
