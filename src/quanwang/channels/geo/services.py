"""What the geo pages read, narrowed to the user's scope: the unassigned list, the overlaps
and a grid's customers, stores and enterprises.

Scope: the grids whose unit the user's grant reaches (data.customers.customer_scope); a holder
of the root reaches every grid. A point outside every grid belongs to no grid: it is seen by
the users whose unit holds the grid it was imported with, else by the root's only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from quanwang.channels.geo.choices import POINT_KEYS, PointKind
from quanwang.channels.geo.mapdata import visible
from quanwang.channels.geo.polygons import grid_shapes
from quanwang.channels.geo.runs import Run, geo_dir, latest_run
from quanwang.core.choices import Action, PiiKind, Resource
from quanwang.core.errors import NotFound
from quanwang.core.masking import mask
from quanwang.data.customers import Scope, customer_scope
from quanwang.data.geometry import Overlap
from quanwang.data.labels import value_label
from quanwang.data.warehouse import Warehouse, sql_literal
from quanwang.insight.kept_files import KeptJson, build_once

PAGE_ROWS = 100
RESOURCES = {
    PointKind.SUBSCRIBERS: Resource.CUSTOMER,
    PointKind.ENTERPRISES: Resource.CUSTOMER,
    PointKind.STORES: Resource.STORE,
}
# Shown per kind on a grid's list (beside the ID); names and numbers masked (core.masking).
COLUMNS = {
    PointKind.SUBSCRIBERS: ("name", "msisdn", "status"),
    PointKind.STORES: ("name", "store_type", "grade"),
    PointKind.ENTERPRISES: ("name", "industry", "grade"),
}
MASKED = {("subscribers", "name"): PiiKind.NAME, ("subscribers", "msisdn"): PiiKind.MSISDN}
# A customer's coordinates on the unassigned list, to about 100 m: enough to see which grid
# is missing, not to find a home.
CUSTOMER_PLACES = 3
_overlaps: KeptJson[list[Overlap]] = KeptJson(size=2)


def scope_for(user: Any, kind: PointKind | None = None) -> Scope:
    """The grids `user` reaches for the kind's records (the grid map's: GRID_SCORECARD)."""
    resource = RESOURCES[kind] if kind is not None else Resource.GRID_SCORECARD
    return customer_scope(user, Action.VIEW, resource)


def _where(scope: Scope, column: str) -> tuple[str, list[Any]]:
    if scope.grids is None or scope.gridless:
        return "true", []
    if not scope.grids:
        return "false", []
    return f"{column} IN (SELECT unnest(?))", [list(scope.grids)]


@dataclass(frozen=True)
class Listing:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    run: Run | None


def unassigned(*, user: Any, kind: PointKind, page: int = 1) -> Listing:
    """The points of `kind` the latest run placed in no grid, that `user` may see."""
    run = latest_run()
    if run is None or not run.unassigned.exists():
        return Listing([], 0, 1, 1, run)
    where, params = _where(scope_for(user, kind), "imported_grid_id")
    relation = f"read_parquet({sql_literal(str(run.unassigned))})"
    con = duckdb.connect()
    condition = f"kind = ? AND {where}"
    total = int(
        con.execute(f"SELECT count(*) FROM {relation} WHERE {condition}", [kind.value, *params])
        .fetchall()[0][0]
    )  # fmt: skip
    pages = max(1, -(-total // PAGE_ROWS))
    page = min(max(1, page), pages)
    cursor = con.execute(
        f"SELECT id, imported_grid_id, lat, lon FROM {relation} WHERE {condition} "
        f"ORDER BY imported_grid_id NULLS FIRST, id "
        f"LIMIT {PAGE_ROWS} OFFSET {(page - 1) * PAGE_ROWS}",
        [kind.value, *params],
    )
    places = CUSTOMER_PLACES if kind is PointKind.SUBSCRIBERS else 6
    rows = [
        {
            "id": point,
            "imported_grid_id": grid,
            "lat": None if lat is None else round(float(lat), places),
            "lon": None if lon is None else round(float(lon), places),
        }
        for point, grid, lat, lon in cursor.fetchall()
    ]
    return Listing(rows, total, page, pages, run)


def unassigned_counts(*, user: Any) -> dict[str, int]:
    """How many points of each kind the user sees on the unassigned list."""
    run = latest_run()
    if run is None or not run.unassigned.exists():
        return {}
    con = duckdb.connect()
    counts = {}
    for kind in PointKind:
        where, params = _where(scope_for(user, kind), "imported_grid_id")
        counts[kind.value] = int(
            con.execute(
                f"SELECT count(*) FROM read_parquet({sql_literal(str(run.unassigned))}) "
                f"WHERE kind = ? AND {where}",
                [kind.value, *params],
            ).fetchall()[0][0]
        )
    return counts


def grid_points(*, user: Any, grid_id: str, kind: PointKind, page: int = 1) -> Listing:
    """The rows of `kind` the latest run placed in `grid_id`; NotFound where the grid is
    outside the user's scope for that kind."""
    if not visible(scope_for(user, kind), grid_id):
        raise NotFound
    run = latest_run()
    parts = run.parts(kind) if run is not None else None
    source = Warehouse().current_file(kind.value)
    if parts is None or source is None:
        return Listing([], 0, 1, 1, run)
    key = POINT_KEYS[kind]
    con = duckdb.connect()
    names = {
        c.lower()
        for c in con.sql(f"SELECT * FROM read_parquet({sql_literal(str(source))}) LIMIT 0").columns
    }
    shown = ", ".join(f"s.{c}" if c in names else f"NULL AS {c}" for c in COLUMNS[kind])
    body = (
        f"FROM read_parquet({sql_literal(parts)}) a "
        f"JOIN read_parquet({sql_literal(str(source))}) s "
        f"ON CAST(s.{key} AS VARCHAR) = a.id WHERE a.grid_id = ?"
    )
    total = int(con.execute(f"SELECT count(*) {body}", [grid_id]).fetchall()[0][0])
    pages = max(1, -(-total // PAGE_ROWS))
    page = min(max(1, page), pages)
    cursor = con.execute(
        f"SELECT a.id, a.how, {shown} {body} ORDER BY a.id "
        f"LIMIT {PAGE_ROWS} OFFSET {(page - 1) * PAGE_ROWS}",
        [grid_id],
    )
    rows = []
    for point, how, *values in cursor.fetchall():
        row: dict[str, Any] = {"id": point, "how": how}
        for column, value in zip(COLUMNS[kind], values, strict=True):
            pii = MASKED.get((kind.value, column))
            # Names and numbers masked; coded values (status `active`) by their label.
            row[column] = mask(value, pii) if pii is not None else value_label(column, value)
        rows.append(row)
    return Listing(rows, total, page, pages, run)


# Overlaps ----------------------------------------------------------------------------------


def _overlaps_file(version: str) -> Path:
    return geo_dir() / "overlaps" / f"{version or 'none'}.json"


def all_overlaps() -> list[Overlap]:
    """The overlapping pairs of the current grids, computed once per grids version."""
    shapes = grid_shapes()
    path = _overlaps_file(shapes.version)

    def existing() -> list[Overlap] | None:
        return _overlaps.load(
            path,
            accept=lambda d: d.get("version") == shapes.version,
            parse=lambda d: [Overlap(**pair) for pair in d["pairs"]],
        )

    def build() -> list[Overlap]:
        pairs = shapes.overlaps()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        data = {"version": shapes.version, "pairs": [asdict(p) for p in pairs]}
        temporary.write_text(json.dumps(data, ensure_ascii=False))
        temporary.replace(path)
        for old in path.parent.glob("*.json"):
            if old != path:
                old.unlink(missing_ok=True)
        return pairs

    path.parent.mkdir(parents=True, exist_ok=True)
    found = build_once(lock=path.parent / ".lock", existing=existing, build=build)
    return found if found is not None else shapes.overlaps()


def overlaps_for(*, user: Any) -> list[Overlap]:
    """The overlaps with at least one grid in the user's scope."""
    scope = scope_for(user)
    return [o for o in all_overlaps() if visible(scope, o.first) or visible(scope, o.second)]
