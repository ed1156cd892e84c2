"""Commissions paid per grid and month: what the grid P&L reads."""

from __future__ import annotations

from decimal import Decimal


def paid_by_grid(*, month: str) -> dict[str, Decimal]:
    """grid_id → the commission of the approved statements of `month` (YYYY-MM) of the grid's
    stores, adjustments included."""
    return {}
