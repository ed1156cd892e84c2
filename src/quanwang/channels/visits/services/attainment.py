"""Visits done against plan, per grid and month: what grid scorecards read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VisitAttainment:
    done: int
    planned: int


def attainment_by_grid(*, month: str) -> dict[str, VisitAttainment]:
    """grid_id → visits logged in `month` (YYYY-MM) to the grid's stores, and those planned."""
    return {}
