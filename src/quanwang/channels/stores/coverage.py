"""The province's coverage view: per grid, how many active stores of each grade it has against
the target of its grid type (rules.coverage_targets), the shortfalls, rolled up by county.

A grid is an org unit of level grid; its type comes from the warehouse's grids table (the grid
unit's code is the grid ID). A store counts for the grid whose unit it belongs to; a store
whose grid has no unit counts for the unit above and for no grid. A grid of a type without a
target (or of no known type) has a target of zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
from django.db.models import Count

from quanwang.channels.choices import GridType, StoreGrade
from quanwang.channels.models import CoverageTarget, Store
from quanwang.channels.stores.rules import coverage_targets
from quanwang.core.choices import Action, OrgLevel, Reach, Resource
from quanwang.core.models import OrgUnit
from quanwang.core.services.orgs import units_granting
from quanwang.data.warehouse import Warehouse

GRADES = (StoreGrade.KEY, StoreGrade.ANCHOR, StoreGrade.SMALL)


@dataclass
class GradeCount:
    grade: StoreGrade
    have: int
    want: int

    @property
    def short(self) -> int:
        return max(0, self.want - self.have)


@dataclass
class GridCoverage:
    unit: OrgUnit
    grid_type: str
    counts: list[GradeCount]
    ungraded: int

    @property
    def short(self) -> int:
        return sum(c.short for c in self.counts)

    @property
    def grid_type_label(self) -> str:
        return str(GridType(self.grid_type).label) if self.grid_type in GridType.values else ""

    @property
    def met(self) -> bool:
        return self.short == 0


@dataclass
class CountyCoverage:
    unit: OrgUnit | None
    grids: list[GridCoverage] = field(default_factory=list)

    @property
    def counts(self) -> list[GradeCount]:
        return [
            GradeCount(
                grade=grade,
                have=sum(g.counts[i].have for g in self.grids),
                want=sum(g.counts[i].want for g in self.grids),
            )
            for i, grade in enumerate(GRADES)
        ]

    @property
    def short(self) -> int:
        """Stores missing, grid by grid (a surplus in one grid does not cover another)."""
        return sum(g.short for g in self.grids)

    @property
    def grids_met(self) -> int:
        return sum(1 for g in self.grids if g.met)


def grid_types(*, warehouse: Warehouse | None = None) -> dict[str, str]:
    store = warehouse or Warehouse()
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT grid_id, grid_type FROM {store.relation('grids')}").fetchall()
    finally:
        con.close()
    return {str(grid): str(kind) for grid, kind in rows}


def grids_in_scope(user: Any) -> Any:
    """The grid units whose every store `user` reaches (a partner's own stores are no grid's
    coverage)."""
    units = units_granting(
        user=user, resource=Resource.STORE, action=Action.VIEW, only=Reach.SUBTREE
    )
    return units.filter(level=OrgLevel.GRID)


def coverage(
    *,
    user: Any,
    county: str | None = None,
    short_only: bool = False,
    warehouse: Warehouse | None = None,
) -> list[CountyCoverage]:
    """The coverage of every grid `user` reaches (within the county `county`, by code), by
    county, the counties in the org tree's order."""
    grids = grids_in_scope(user).select_related("parent").order_by("path")
    if county:
        grids = grids.filter(path__contains=f"/{county}/")
    grid_list = list(grids)
    counted = _counts(grids)
    types = grid_types(warehouse=warehouse)
    targets = coverage_targets()
    by_county: dict[int | None, CountyCoverage] = {}
    for unit in grid_list:
        grid_type = types.get(unit.code, "")
        row = _grid(unit, grid_type, counted.get(unit.pk, {}), targets.get(grid_type))
        if short_only and row.met:
            continue
        parent = unit.parent
        key = parent.pk if parent is not None else None
        if key not in by_county:
            by_county[key] = CountyCoverage(unit=parent)
        by_county[key].grids.append(row)
    return list(by_county.values())


def _counts(grids: Any) -> dict[int, dict[str, int]]:
    """Active stores by grid unit and grade ("" for ungraded), for the units of `grids`."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Store.objects.filter(active=True, org_unit__in=grids.values("pk"))
        .order_by()
        .values("org_unit_id", "grade")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        out[row["org_unit_id"]][row["grade"] or ""] = row["n"]
    return out


def _grid(
    unit: OrgUnit, grid_type: str, counts: dict[str, int], target: CoverageTarget | None
) -> GridCoverage:
    wants = (
        {StoreGrade.KEY: target.key_min, StoreGrade.ANCHOR: target.anchor_min,
         StoreGrade.SMALL: target.small_min}
        if target is not None
        else {}
    )  # fmt: skip
    return GridCoverage(
        unit=unit,
        grid_type=grid_type,
        counts=[
            GradeCount(grade=g, have=counts.get(str(g), 0), want=wants.get(g, 0)) for g in GRADES
        ],
        ungraded=counts.get("", 0),
    )
