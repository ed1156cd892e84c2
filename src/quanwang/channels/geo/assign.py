"""Placing points in grid polygons: Ibis expressions that run on DuckDB and on Spark alike.

`assign_points` takes a table of points (id, lat, lon, grid_id as imported) and the cell index
of the grids (channels.geo.index), and gives (id, grid_id, how):

- a point without coordinates keeps its imported grid (how = imported);
- a point in a *direct* cell gets the cell's grid by one equi-join on the cell key;
- a point in a *boundary* cell is decided exactly among the cell's candidate polygons: the
  segment from the point to the cell's reference point crosses the candidate's edges an odd
  or even number of times (orientation tests in plain arithmetic), which tells whether the
  point lies on the same side as the reference point; on an edge counts as inside;
- of the polygons holding a point the rule's winner (lowest rank: the smaller grid, then the
  smaller grid ID) takes it; a point no polygon holds is unassigned (grid_id NULL).

Nothing here is engine-specific: the same expression compiles to DuckDB SQL and Spark SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from quanwang.channels.geo.choices import How
from quanwang.channels.geo.index import KEY_X, KEY_Y, TABLES


@dataclass(frozen=True)
class IndexTables:
    """A grid index's tables as Ibis tables of one engine."""

    delta: float
    cells: ir.Table
    tests: ir.Table
    ranks: ir.Table


def register_index(con: Any, folder: Path, *, delta: float) -> IndexTables:
    """The index kept in `folder` (channels.geo.index.save_index), read by `con`."""
    tables = {
        name: con.read_parquet(str(folder / f"{name}.parquet"), table_name=f"geo_{name}")
        for name in TABLES
    }
    return IndexTables(delta=delta, **tables)


def _orient(ax: Any, ay: Any, bx: Any, by: Any, px: Any, py: Any) -> Any:
    """Twice the signed area of (a, b, p): > 0 where p lies left of a → b."""
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


def cell_key(lon: Any, lat: Any, delta: float) -> Any:
    return (lon / delta).floor().cast("int64") * KEY_X + (lat / delta).floor().cast("int64") + KEY_Y


def assign_points(
    points: ir.Table,
    *,
    index: IndexTables,
    keep: Callable[[ir.Table], ir.Table] | None = None,
) -> ir.Table:
    """(id, grid_id, how) for each row of `points` (id, lat, lon, grid_id).

    `keep`: computes the points' cells once and gives a table reading the result (a temporary
    table on DuckDB, a cached DataFrame on Spark: insight.engines.materialise), as three parts
    of the result read them; None leaves the engine to compute them for each."""
    null_grid = ibis.null().cast("string")
    located = points.filter(points.lat.notnull() & points.lon.notnull())
    keyed = located.select(
        "id", x=located.lon, y=located.lat, key=cell_key(located.lon, located.lat, index.delta)
    )
    cells = index.cells.select("key", cell_grid=index.cells.grid_id, boundary="boundary")
    placed = keyed.left_join(cells, "key").select("id", "x", "y", "key", "cell_grid", "boundary")
    if keep is not None:
        placed = keep(placed)
    direct = placed.filter(placed.boundary == ibis.literal(False)).select(
        "id", grid_id=placed.cell_grid, how=ibis.literal(How.POLYGON.value)
    )
    outside = placed.filter(placed.boundary.isnull()).select(
        "id", grid_id=null_grid, how=ibis.literal(How.UNASSIGNED.value)
    )
    edgy = placed.filter(placed.boundary == ibis.literal(True)).select("id", "x", "y", "key")
    winners = _refined(edgy, index)
    undecided = edgy.anti_join(winners, "id").select(
        "id", grid_id=null_grid, how=ibis.literal(How.UNASSIGNED.value)
    )
    without = points.filter(points.lat.isnull() | points.lon.isnull()).select(
        "id", grid_id=points.grid_id.cast("string"), how=ibis.literal(How.IMPORTED.value)
    )
    return ibis.union(direct, winners, undecided, outside, without)


def _refined(edgy: ir.Table, index: IndexTables) -> ir.Table:
    """(id, grid_id, how) of the points of boundary cells that some candidate holds."""
    t = edgy.join(index.tests, "key")
    side_a = _orient(t.x, t.y, t.rx, t.ry, t.ax, t.ay) > 0
    side_b = _orient(t.x, t.y, t.rx, t.ry, t.bx, t.by) > 0
    at_point = _orient(t.ax, t.ay, t.bx, t.by, t.x, t.y)
    at_ref = _orient(t.ax, t.ay, t.bx, t.by, t.rx, t.ry)
    crosses = (side_a != side_b) & (at_point != 0) & ((at_point > 0) != (at_ref > 0))
    on_edge = (
        (at_point == 0)
        & t.x.between(ibis.least(t.ax, t.bx), ibis.greatest(t.ax, t.bx))
        & t.y.between(ibis.least(t.ay, t.by), ibis.greatest(t.ay, t.by))
    )
    tallied = (
        t.mutate(
            crossed=crosses.cast("int64").fill_null(0), touches=on_edge.cast("int64").fill_null(0)
        )
        .group_by(["id", "rank", "ref_inside"])
        .aggregate(crossings=lambda s: s.crossed.sum(), touches=lambda s: s.touches.max())
    )
    odd = (tallied.crossings % 2) == 1
    holding = tallied.filter((tallied.touches > 0) | (tallied.ref_inside != odd))
    best = holding.group_by("id").aggregate(rank=holding["rank"].min())
    return best.join(index.ranks, "rank").select(
        "id", "grid_id", how=ibis.literal(How.POLYGON.value)
    )
