"""Campaign figures per grid and month, for grid scorecards and the grid P&L (channels)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class GridCampaignFigures:
    targeted: int  # treated customers of the grid contacted in the month
    accepted: int  # of them, those who took the offer
    tasks_total: int  # grid and store task-list entries of the grid due in the month
    tasks_done: int  # of them, those with an outcome recorded
    offer_cost: Decimal  # offer costs of the grid's takers in the month (yuan)


def figures_by_grid(*, month: str) -> dict[str, GridCampaignFigures]:
    """grid_id → the month's campaign figures of the grid's customers and stores."""
    return {}
