"""The org unit a row with a grid ID belongs to, for the files kept in step with the
warehouse (the store file, the account file): its grid's unit (an org unit whose code is the
grid ID), else the nearest existing unit above the grid (the grid's county in the warehouse's
`grids` table, then that unit's parents in `org_units`), else the root of the org tree.
Scoping reads that unit, so a row is never out of everyone's reach."""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.data.warehouse import Warehouse


def read_grid_parents(
    con: duckdb.DuckDBPyConnection, store: Warehouse
) -> tuple[dict[str, str], dict[str, str]]:
    """Each grid's county code (`grids`) and each org unit's parent code (`org_units`)."""
    counties = dict(
        con.sql(
            f"SELECT grid_id, county_code FROM {store.relation('grids')} "
            "WHERE county_code IS NOT NULL"
        ).fetchall()
    )
    parents = dict(
        con.sql(
            f"SELECT code, parent_code FROM {store.relation('org_units')} "
            "WHERE parent_code IS NOT NULL"
        ).fetchall()
    )
    return counties, parents


class GridUnits:
    """Finds (and remembers) the org unit of each grid ID; `empty_tree` is the refusal when
    there is no org tree yet (naming what to import first)."""

    def __init__(
        self, *, counties: Mapping[str, str], parents: Mapping[str, str], empty_tree: str
    ) -> None:
        self.units = {u.code: u for u in OrgUnit.objects.only("id", "code", "path", "parent_id")}
        root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
        if root is None:
            raise ServiceError(empty_tree)
        self.root = root
        self.counties, self.parents = counties, parents
        self._found: dict[str, OrgUnit] = {}

    def unit_for(self, grid_id: str | None) -> OrgUnit:
        if not grid_id:
            return self.root
        if grid_id not in self._found:
            self._found[grid_id] = self._walk(grid_id)
        return self._found[grid_id]

    def _walk(self, grid_id: str) -> OrgUnit:
        code: str | None = grid_id
        seen: set[str] = set()
        while code and code not in seen:
            if code in self.units:
                return self.units[code]
            seen.add(code)
            # Above a grid: its county (grids); above any other unit: its parent (org_units).
            code = self.counties.get(code) or self.parents.get(code)
        return self.root
