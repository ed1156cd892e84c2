"""The cell index that lets DuckDB and Spark place points in grid polygons with nothing but
arithmetic and joins (channels.geo.assign), built once per grids file with shapely.

The plane is cut into square cells of side δ (degrees); a point (lon, lat) lies in the cell
(floor(lon/δ), floor(lat/δ)), one BIGINT key. For each cell a polygon touches:

- no polygon edge crosses the cell: the cell lies wholly inside its polygons (or outside), so
  every point in it goes to the rule's winner among them: a *direct* cell (key → grid);
- an edge crosses it: a *boundary* cell. Its candidates are the polygons whose edges cross it
  and rank before the best polygon that holds the whole cell (which is a candidate too, known
  to hold every point). Each candidate comes with a reference point R of the cell, whether R
  lies inside it, and the candidate's edges that touch the cell: a point P of the cell lies
  inside the polygon when R does and the segment P–R crosses its edges an even number of
  times, or R does not and an odd number (P and R both lie in the convex cell, so no other
  edge can cross P–R), or when P lies on one of them (boundaries belong to the polygon).

δ is a fraction of the median grid's width (CELLS_ACROSS across it), made larger where the
cells enumerated would exceed MAX_CELLS. The cell boxes are widened by EPS of a side, so that a
point whose floor() rounds into a neighbouring cell still meets every edge its box might.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import shapely

from quanwang.channels.geo.polygons import GridShapes

KEY_X = 1 << 32  # key = ix * KEY_X + iy + KEY_Y: unique while |iy| < 2**31
KEY_Y = 1 << 31
CELLS_ACROSS = 16
MAX_CELLS = 8_000_000
EPS = 1e-9
REF_CLEARANCE = 1e-6  # of a side: a reference point's least distance from any edge
# Where in its cell a reference point is tried, in turn, until one is clear of every edge.
REF_SPOTS = (
    (0.5, 0.5),
    (0.3125, 0.6875),
    (0.71875, 0.28125),
    (0.15625, 0.40625),
    (0.59375, 0.84375),
    (0.84375, 0.59375),
    (0.40625, 0.15625),
)
INDEX_FORMAT = 1
TABLES = ("cells", "tests", "ranks")


@dataclass
class GridIndex:
    version: str  # the grids file's
    delta: float
    cells: Any  # key, grid_id (null in a boundary cell), boundary
    # key, rank, ref_inside, rx, ry and an edge ax, ay, bx, by: a row per candidate and edge
    # of a boundary cell (edge NULL for the candidate holding the whole cell)
    tests: Any
    ranks: Any  # rank, grid_id
    stats: dict[str, Any] = field(default_factory=dict)


def cell_keys(ix: Any, iy: Any) -> Any:
    return np.asarray(ix, dtype=np.int64) * KEY_X + np.asarray(iy, dtype=np.int64) + KEY_Y


def choose_delta(shapes: GridShapes, *, cells_across: int, max_cells: int) -> float:
    areas = shapely.area(shapes.geometries)
    delta = math.sqrt(float(np.median(areas))) / cells_across
    bounds = shapely.bounds(shapes.geometries)
    width, height = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    while float(np.sum((width / delta + 2) * (height / delta + 2))) > max_cells:
        delta *= 1.25
    return delta


def build_index(
    shapes: GridShapes, *, cells_across: int = CELLS_ACROSS, max_cells: int = MAX_CELLS
) -> GridIndex:
    started = time.monotonic()
    ranks = pa.table(
        {
            "rank": pa.array(range(len(shapes)), pa.int64()),
            "grid_id": pa.array(list(shapes.ids), pa.string()),
        },
    )
    if len(shapes) == 0:
        return _empty(shapes.version, ranks)
    delta = choose_delta(shapes, cells_across=cells_across, max_cells=max_cells)
    edges = _edges(shapes.geometries)
    touched = _edge_cells(edges, delta)
    interior = _interior_cells(shapes, touched, delta)
    con = duckdb.connect()
    con.register("touched", touched)
    con.register("interior", interior)
    # The best polygon holding each whole cell, and the polygons whose edges cross the cell
    # that rank before it (only they can take a point of the cell from it).
    con.execute(
        "CREATE TABLE best AS SELECT key, min(rank) AS best FROM interior GROUP BY key; "
        "CREATE TABLE crossing AS SELECT DISTINCT t.key, t.rank FROM touched t "
        "LEFT JOIN best b USING (key) WHERE b.best IS NULL OR t.rank < b.best; "
        "CREATE TABLE boundary_keys AS SELECT DISTINCT key FROM crossing"
    )
    direct = con.sql(
        "SELECT key, best AS rank FROM best ANTI JOIN boundary_keys USING (key) ORDER BY key"
    ).to_arrow_table()
    cell_edges = con.sql(
        "SELECT t.key, t.rank, t.ax, t.ay, t.bx, t.by FROM touched t "
        "SEMI JOIN crossing c ON c.key = t.key AND c.rank = t.rank ORDER BY t.key, t.rank"
    ).to_arrow_table()
    crossing = con.sql("SELECT key, rank FROM crossing ORDER BY key, rank").to_arrow_table()
    holders = con.sql(
        "SELECT b.key, b.best AS rank FROM best b SEMI JOIN boundary_keys USING (key) ORDER BY key"
    ).to_arrow_table()
    boundary_keys = con.sql("SELECT key FROM boundary_keys ORDER BY key").to_arrow_table()
    refs = _reference_points(boundary_keys.column("key").to_numpy(), cell_edges, delta)
    candidates = _candidates(shapes, crossing, holders, refs)
    con.register("candidates", candidates)
    con.register("cell_edges", cell_edges)
    tests = con.sql(
        "SELECT c.key, c.rank, c.ref_inside, c.rx, c.ry, e.ax, e.ay, e.bx, e.by "
        "FROM candidates c LEFT JOIN cell_edges e USING (key, rank) ORDER BY c.key, c.rank"
    ).to_arrow_table()
    grid_of = np.asarray(shapes.ids, dtype=object)
    cells = pa.table(
        {
            "key": pa.concat_arrays(
                [
                    direct.column("key").combine_chunks(),
                    boundary_keys.column("key").combine_chunks(),
                ]
            ),
            "grid_id": pa.array(
                list(grid_of[direct.column("rank").to_numpy()]) + [None] * boundary_keys.num_rows,
                pa.string(),
            ),
            "boundary": pa.array([False] * direct.num_rows + [True] * boundary_keys.num_rows),
        }
    )
    stats = {
        "grids": len(shapes),
        "delta": delta,
        "direct_cells": direct.num_rows,
        "boundary_cells": boundary_keys.num_rows,
        "candidates": candidates.num_rows,
        "tests": tests.num_rows,
        "seconds": round(time.monotonic() - started, 3),
    }
    return GridIndex(shapes.version, delta, cells, tests, ranks, stats)


def _empty(version: str, ranks: Any) -> GridIndex:
    f64, i64 = pa.float64(), pa.int64()
    return GridIndex(
        version,
        1.0,
        pa.table({"key": pa.array([], i64), "grid_id": pa.array([], pa.string()),
                  "boundary": pa.array([], pa.bool_())}),
        pa.table({"key": pa.array([], i64), "rank": pa.array([], i64),
                  "ref_inside": pa.array([], pa.bool_()),
                  **{name: pa.array([], f64) for name in ("rx", "ry", "ax", "ay", "bx", "by")}}),
        ranks,
        {"grids": 0},
    )  # fmt: skip


def _edges(geometries: Any) -> dict[str, Any]:
    """Every ring's edges (a → b) with the rank of their polygon (its place in `geometries`)."""
    parts, part_of = shapely.get_parts(geometries, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    same = coord_of[1:] == coord_of[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    rank = part_of[ring_of[coord_of[:-1][same]]]
    moves = (a[:, 0] != b[:, 0]) | (a[:, 1] != b[:, 1])
    return {
        "rank": rank[moves].astype(np.int64),
        "ax": a[moves, 0], "ay": a[moves, 1], "bx": b[moves, 0], "by": b[moves, 1],
    }  # fmt: skip


def _edge_cells(edges: dict[str, Any], delta: float) -> Any:
    """(key, rank, ax, ay, bx, by): each edge with each cell whose widened box it meets.

    Candidates come from the edge cut into pieces no longer than a cell (each piece's box
    meets at most 3 × 3 cells), so that a long diagonal edge does not enumerate its whole box;
    each candidate is then tested against the whole edge: the boxes must overlap and the box's
    corners must not all lie on one side of the edge's line."""
    ax, ay, bx, by = edges["ax"], edges["ay"], edges["bx"], edges["by"]
    pieces = np.maximum(1, np.ceil(np.maximum(np.abs(bx - ax), np.abs(by - ay)) / delta)).astype(
        np.int64
    )
    edge = np.repeat(np.arange(len(ax)), pieces)
    step = np.arange(len(edge)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    t0, t1 = step / pieces[edge], (step + 1) / pieces[edge]
    x0, x1 = ax[edge] + (bx - ax)[edge] * t0, ax[edge] + (bx - ax)[edge] * t1
    y0, y1 = ay[edge] + (by - ay)[edge] * t0, ay[edge] + (by - ay)[edge] * t1
    widen = 4 * EPS * delta
    ix0 = np.floor((np.minimum(x0, x1) - widen) / delta).astype(np.int64)
    ix1 = np.floor((np.maximum(x0, x1) + widen) / delta).astype(np.int64)
    iy0 = np.floor((np.minimum(y0, y1) - widen) / delta).astype(np.int64)
    iy1 = np.floor((np.maximum(y0, y1) + widen) / delta).astype(np.int64)
    nx, ny = ix1 - ix0 + 1, iy1 - iy0 + 1
    count = nx * ny
    owner = np.repeat(np.arange(len(edge)), count)
    within = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    ix = ix0[owner] + within // ny[owner]
    iy = iy0[owner] + within % ny[owner]
    e = edge[owner]
    keys = cell_keys(ix, iy)
    order = np.lexsort((keys, e))
    e, keys, ix, iy = e[order], keys[order], ix[order], iy[order]
    fresh = np.ones(len(e), dtype=bool)
    fresh[1:] = (e[1:] != e[:-1]) | (keys[1:] != keys[:-1])
    e, keys, ix, iy = e[fresh], keys[fresh], ix[fresh], iy[fresh]
    margin = EPS * delta
    left, right = ix * delta - margin, (ix + 1) * delta + margin
    bottom, top = iy * delta - margin, (iy + 1) * delta + margin
    eax, eay, ebx, eby = ax[e], ay[e], bx[e], by[e]
    meets = (
        (np.minimum(eax, ebx) <= right) & (np.maximum(eax, ebx) >= left)
        & (np.minimum(eay, eby) <= top) & (np.maximum(eay, eby) >= bottom)
    )  # fmt: skip
    dx, dy = ebx - eax, eby - eay
    sides = [dx * (cy - eay) - dy * (cx - eax) for cx in (left, right) for cy in (bottom, top)]
    above = np.all([s > 0 for s in sides], axis=0)
    below = np.all([s < 0 for s in sides], axis=0)
    keep = meets & ~above & ~below
    return pa.table(
        {
            "key": keys[keep], "rank": edges["rank"][e[keep]],
            "ax": eax[keep], "ay": eay[keep], "bx": ebx[keep], "by": eby[keep],
        }
    )  # fmt: skip


def _interior_cells(shapes: GridShapes, touched: Any, delta: float) -> Any:
    """(key, rank): the cells of each polygon's box that none of its edges meets and whose
    centre (so the whole cell) lies inside it."""
    bounds = shapely.bounds(shapes.geometries)
    widen = 4 * EPS * delta
    ix0 = np.floor((bounds[:, 0] - widen) / delta).astype(np.int64)
    ix1 = np.floor((bounds[:, 2] + widen) / delta).astype(np.int64)
    iy0 = np.floor((bounds[:, 1] - widen) / delta).astype(np.int64)
    iy1 = np.floor((bounds[:, 3] + widen) / delta).astype(np.int64)
    nx, ny = ix1 - ix0 + 1, iy1 - iy0 + 1
    count = nx * ny
    start = np.cumsum(count) - count
    rank = np.repeat(np.arange(len(shapes)), count)
    within = np.arange(len(rank)) - start[rank]
    ix = ix0[rank] + within // ny[rank]
    iy = iy0[rank] + within % ny[rank]
    crossed = np.zeros(len(rank), dtype=bool)
    t_rank = touched.column("rank").to_numpy()
    t_key = touched.column("key").to_numpy()
    t_ix = np.floor_divide(t_key, KEY_X)  # keys back to (ix, iy)
    t_iy = t_key - t_ix * KEY_X - KEY_Y
    inside_box = (
        (t_ix >= ix0[t_rank])
        & (t_ix <= ix1[t_rank])
        & (t_iy >= iy0[t_rank])
        & (t_iy <= iy1[t_rank])
    )
    place = start[t_rank] + (t_ix - ix0[t_rank]) * ny[t_rank] + (t_iy - iy0[t_rank])
    crossed[place[inside_box]] = True
    free = ~crossed
    centre_x, centre_y = (ix[free] + 0.5) * delta, (iy[free] + 0.5) * delta
    holds = shapely.contains_xy(shapes.geometries[rank[free]], centre_x, centre_y)
    return pa.table({"key": cell_keys(ix[free][holds], iy[free][holds]), "rank": rank[free][holds]})


def _reference_points(keys: Any, cell_edges: Any, delta: float) -> tuple[Any, Any]:
    """(rx, ry) for each boundary cell (`keys`, sorted): the first of REF_SPOTS at least
    REF_CLEARANCE of a side away from every edge in the cell."""
    ix = np.floor_divide(keys, KEY_X)
    iy = keys - ix * KEY_X - KEY_Y
    rx = np.full(len(keys), np.nan)
    ry = np.full(len(keys), np.nan)
    e_key = cell_edges.column("key").to_numpy()
    cell = np.searchsorted(keys, e_key)
    ax, ay = cell_edges.column("ax").to_numpy(), cell_edges.column("ay").to_numpy()
    bx, by = cell_edges.column("bx").to_numpy(), cell_edges.column("by").to_numpy()
    open_cells = np.ones(len(keys), dtype=bool)
    for fx, fy in REF_SPOTS:
        px, py = (ix + fx) * delta, (iy + fy) * delta
        near = _distance(px[cell], py[cell], ax, ay, bx, by) < REF_CLEARANCE * delta
        crowded = np.zeros(len(keys), dtype=bool)
        crowded[cell[near]] = True
        settle = open_cells & ~crowded
        rx[settle], ry[settle] = px[settle], py[settle]
        open_cells &= ~settle
        if not open_cells.any():
            break
    if open_cells.any():  # no spot clear: a cell crowded with edges; its centre, nudged
        rx[open_cells] = (ix[open_cells] + 0.5 + 1e-4) * delta
        ry[open_cells] = (iy[open_cells] + 0.5 - 1e-4) * delta
    return rx, ry


def _distance(px: Any, py: Any, ax: Any, ay: Any, bx: Any, by: Any) -> Any:
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(length > 0, length, 1), 0, 1)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _candidates(shapes: GridShapes, crossing: Any, holders: Any, refs: tuple[Any, Any]) -> Any:
    """(key, rank, ref_inside, rx, ry): the crossing polygons of each boundary cell, with
    whether its reference point lies inside each, and the polygon holding the whole cell."""
    keys_sorted = np.unique(crossing.column("key").to_numpy())
    rx, ry = refs
    c_key, c_rank = crossing.column("key").to_numpy(), crossing.column("rank").to_numpy()
    at = np.searchsorted(keys_sorted, c_key)
    inside = shapely.contains_xy(shapes.geometries[c_rank], rx[at], ry[at])
    h_key, h_rank = holders.column("key").to_numpy(), holders.column("rank").to_numpy()
    h_at = np.searchsorted(keys_sorted, h_key)
    return pa.table(
        {
            "key": np.concatenate([c_key, h_key]),
            "rank": np.concatenate([c_rank, h_rank]).astype(np.int64),
            "ref_inside": np.concatenate([inside, np.ones(len(h_key), dtype=bool)]),
            "rx": np.concatenate([rx[at], rx[h_at]]),
            "ry": np.concatenate([ry[at], ry[h_at]]),
        }
    )


# Kept on disk, once per grids file ----------------------------------------------------------


def save_index(index: GridIndex, folder: Path) -> None:
    """Write the index's tables to `folder` (whole or not at all: written beside it, renamed,
    its manifest last)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.tmp"
    staging.mkdir()
    try:
        for name in TABLES:
            pq.write_table(getattr(index, name), staging / f"{name}.parquet", compression="zstd")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    manifest = {"format": INDEX_FORMAT, "version": index.version, "delta": index.delta}
    manifest |= {"stats": index.stats}
    temporary = folder / f".manifest.{uuid.uuid4().hex}"
    temporary.write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(temporary, folder / "manifest.json")


def saved_delta(folder: Path) -> float | None:
    """The cell side of the index kept in `folder`; None where there is no whole one."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("format") != INDEX_FORMAT:
        return None
    return float(manifest["delta"])
