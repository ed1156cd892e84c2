"""Whose scorecards a user may open: the grids and counties their GRID_SCORECARD grant reaches
(channels.models.ScorecardUnit); anything else is not found, the same as a grid that does not
exist. The drill-down also lists customers, so it needs the grid in the user's customer scope.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from quanwang.channels.models import ScorecardUnit
from quanwang.core.choices import Action, OrgLevel
from quanwang.core.errors import NotFound
from quanwang.core.models import Staff
from quanwang.data.customers import customer_scope


def units(user: Any) -> QuerySet[ScorecardUnit]:
    return ScorecardUnit.objects.restrict(user, Action.VIEW)


def grid_unit(*, user: Any, code: str) -> ScorecardUnit:
    """The grid `code` if the user may open its scorecard; NotFound otherwise."""
    found = units(user).filter(level=OrgLevel.GRID, code=code).first()
    if found is None:
        raise NotFound()
    return found


def county_unit(*, user: Any, code: str) -> ScorecardUnit:
    """The county `code` if the user may open its ranking (all its grids); NotFound otherwise."""
    found = units(user).filter(level=OrgLevel.COUNTY, code=code).first()
    if found is None:
        raise NotFound()
    return found


def visible_grid_codes(user: Any) -> set[str]:
    return set(units(user).filter(level=OrgLevel.GRID).values_list("code", flat=True))


def visible_counties(user: Any) -> QuerySet[ScorecardUnit]:
    return units(user).filter(level=OrgLevel.COUNTY).order_by("path")


def manager_grids(*, user: Any, grid_ids: list[str]) -> list[str]:
    """Of a manager's grids, those the user may open; NotFound when none (another scope)."""
    visible = visible_grid_codes(user)
    mine = [g for g in grid_ids if g in visible]
    if not mine:
        raise NotFound()
    return mine


def staff_named(*, user: Any, employee_no: str) -> Staff | None:
    """The staff record of a grid manager, if the user may see it (else the number shows)."""
    if not employee_no:
        return None
    return Staff.objects.restrict(user, Action.VIEW).filter(employee_no=employee_no).first()


def may_list_customers(*, user: Any, grid_id: str) -> bool:
    return customer_scope(user).holds(grid_id)
