"""Grid assignment (issue 16): customers placed in grid polygons, on DuckDB and Spark local[2],
against shapely's STRtree on the same points.

    .venv/bin/python bench/bench_grid_assign.py [--points 10000000] [--grids 10000] \
        [--engines duckdb,spark] [--cells-across 8] [--no-baseline] [--work DIR]

The city: `--grids` street grids tiling a 1° × 1° square (the Voronoi cells of random seeds,
as irregular as real street grids, sharing every edge with a neighbour) and one campus grid in
fifty inside them (the overlaps the rule settles). The customers: uniform over the square and
a margin around it (so some lie outside every grid), one in fifty without coordinates.

Timed, each on the same Parquet file of points:
- the cell index, built once per grids file (channels.geo.index);
- channels.geo.assign on DuckDB and on Spark local[2] (the same Ibis expression), from the
  Parquet file to the result written as Parquet (what the nightly step does);
- the baseline: shapely 2's STRtree, queried with all the points at once (vectorised, in
  chunks of a million), then the same overlap rule in numpy.
Each engine's result is checked against the baseline, point by point. Prints seconds, points
per second, the ratio to the 60 s goal and to the baseline, and the load average around each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

GOAL_S = 60.0
BOX = (113.0, 22.6, 114.0, 23.6)  # lon, lat: about Guangzhou
COUNTIES = 11


def synthetic_grids(count: int, seed: int = 7) -> list[tuple[str, str, str, str, Any]]:
    """(grid_id, name, county_code, grid_type, geometry) of `count` street grids tiling BOX and
    a campus in one of fifty, counties in vertical bands."""
    import shapely

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BOX
    frame = shapely.box(*BOX)
    seeds = shapely.multipoints(rng.uniform([x0, y0], [x1, y1], (count, 2)))
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds)), frame)
    width = (x1 - x0) / COUNTIES
    grids = []
    for i, cell in enumerate(cells):
        county = f"GZ-{min(COUNTIES - 1, int((cell.centroid.x - x0) / width)):02d}"
        grids.append((f"{county}-S{i:05d}", f"街道网格{i:05d}", county, "沿街", cell))
    side = np.sqrt((x1 - x0) * (y1 - y0) / count) / 3
    for i, (x, y) in enumerate(rng.uniform([x0, y0], [x1, y1], (count // 50, 2))):
        campus = shapely.Point(x, y).buffer(side, quad_segs=4)
        county = f"GZ-{min(COUNTIES - 1, int((x - x0) / width)):02d}"
        grids.append((f"{county}-C{i:05d}", f"校园网格{i:05d}", county, "校园", campus))
    return grids


def write_grids(grids: list[tuple[str, str, str, str, Any]], path: Path) -> Path:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    from quanwang.data.arrow import table_schema

    schema = table_schema("grids")
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for grid, name, county, kind, geometry in grids:
        row = {"grid_id": grid, "name": name, "county_code": county, "grid_type": kind,
               "boundary_wkt": geometry.wkt, "centroid_lat": geometry.centroid.y,
               "centroid_lon": geometry.centroid.x}  # fmt: skip
        for column in schema.names:
            columns[column].append(row.get(column))
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), path)
    return path


def write_points(count: int, path: Path, seed: int = 11) -> tuple[Any, Any, Any]:
    """`count` customers (id, lat, lon, grid_id) as Parquet; returns lon, lat and the mask of
    those with coordinates."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BOX
    margin = 0.03
    lon = rng.uniform(x0 - margin, x1 + margin, count)
    lat = rng.uniform(y0 - margin, y1 + margin, count)
    located = np.arange(count) % 50 != 0
    ids = pa.array(np.char.add("S", np.char.zfill(np.arange(count).astype(str), 9)))
    table = pa.table(
        {
            "id": ids,
            "lat": pa.array(np.where(located, lat, np.nan), from_pandas=True),
            "lon": pa.array(np.where(located, lon, np.nan), from_pandas=True),
            "grid_id": pa.array(np.full(count, "IMPORTED")),
        }
    )
    pq.write_table(table, path, row_group_size=1 << 20)
    return lon, lat, located


def load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def run_engine(
    engine_name: str, index_folder: Path, delta: float, points: Path, out: Path
) -> float:
    from quanwang.channels.geo.assign import assign_points, register_index
    from quanwang.insight.choices import Engine
    from quanwang.insight.engines import connect, materialise, write_parquet

    engine = Engine(engine_name)
    con = connect(engine)
    if engine is Engine.SPARK:
        con._session.sparkContext.setLogLevel("ERROR")  # the session is up: not timed
    started = time.monotonic()
    index = register_index(con, index_folder, delta=delta)
    table = con.read_parquet(str(points), table_name="bench_points")

    def keep(expr: Any) -> Any:
        return materialise(con, engine, {"bench_placed": expr})["bench_placed"]

    shutil.rmtree(out, ignore_errors=True)
    write_parquet(con, engine, assign_points(table, index=index, keep=keep), out)
    return time.monotonic() - started


def baseline(shapes: Any, lon: Any, lat: Any, located: Any) -> tuple[float, Any]:
    """STRtree: rank of the grid each point gets (-1: none), and the seconds it took."""
    import shapely

    started = time.monotonic()
    tree = shapely.STRtree(shapes.geometries)
    best = np.full(len(lon), -1, dtype=np.int64)
    where = np.flatnonzero(located)
    for start in range(0, len(where), 1_000_000):
        chunk = where[start : start + 1_000_000]
        points = shapely.points(lon[chunk], lat[chunk])
        point, grid = tree.query(points, predicate="intersects")
        order = np.lexsort((grid, point))  # shapes are in rule order: the lowest rank wins
        point, grid = point[order], grid[order]
        first = np.ones(len(point), dtype=bool)
        first[1:] = point[1:] != point[:-1]
        best[chunk[point[first]]] = grid[first]
    return time.monotonic() - started, best


def mismatches(out: Path, shapes: Any, best: Any) -> int:
    import duckdb
    import pyarrow as pa

    ids = pa.array(np.char.add("S", np.char.zfill(np.arange(len(best)).astype(str), 9)))
    ranks = pa.table({"rank": pa.array(range(len(shapes))), "grid_id": list(shapes.ids)})
    expected = pa.table({"id": ids, "rank": best})
    con = duckdb.connect()
    con.register("expected", expected)
    con.register("ranks", ranks)
    return int(
        con.sql(
            f"SELECT count(*) FROM read_parquet('{out}/*.parquet') a JOIN expected e USING (id) "
            "LEFT JOIN ranks r ON r.rank = e.rank "
            "WHERE a.how <> 'imported' AND a.grid_id IS DISTINCT FROM r.grid_id"
        ).fetchall()[0][0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--cells-across", default="16")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each engine and size")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-geo-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QUANWANG_VAR_DIR", str(work / "var"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    os.environ.setdefault("QUANWANG_SPARK_MASTER", "local[2]")
    import django

    django.setup()
    from quanwang.channels.geo.index import build_index, save_index
    from quanwang.channels.geo.polygons import read_shapes

    print(f"cores: {os.cpu_count()}, load before: {load()}")
    grids_file = write_grids(synthetic_grids(args.grids), work / "grids.parquet")
    shapes = read_shapes(grids_file)
    points = work / "points.parquet"
    lon, lat, located = write_points(args.points, points)
    print(f"{len(shapes):,} grid polygons, {args.points:,} customers ({located.sum():,} located)")
    best = None
    if not args.no_baseline:
        seconds, best = baseline(shapes, lon, lat, located)
        placed = int((best >= 0).sum())
        print(
            f"baseline STRtree: {seconds:.1f} s, {args.points / seconds:,.0f} points/s, "
            f"{placed:,} placed (load {load()})"
        )
        base_seconds = seconds
    warmed: set[str] = set()
    for across in [int(v) for v in args.cells_across.split(",")]:
        started = time.monotonic()
        index = build_index(shapes, cells_across=across)
        folder = work / f"index-{across}"
        save_index(index, folder)
        stats = index.stats
        share = stats["boundary_cells"] / max(1, stats["boundary_cells"] + stats["direct_cells"])
        print(f"cell index, {across} cells across a grid: {time.monotonic() - started:.1f} s, "
              f"{stats}; {share:.0%} of the cells are boundary cells")  # fmt: skip
        for engine in args.engines.split(","):
            for attempt in range(args.repeat):
                out = work / f"out-{engine}-{across}"
                seconds = run_engine(engine, folder, index.delta, points, out)
                line = (
                    f"{engine} ({across} across, run {attempt + 1}"
                    f"{', the first in this process' if engine not in warmed else ''}): "
                    f"{seconds:.1f} s, {args.points / seconds:,.0f} points/s, "
                    f"{seconds / GOAL_S:.2f} × the 60 s goal"
                )
                warmed.add(engine)
                if best is not None:
                    line += f", {seconds / base_seconds:.2f} × the baseline, "
                    line += f"{mismatches(out, shapes, best)} points differ from it"
                print(f"{line} (load {load()})", flush=True)
    print(f"load after: {load()}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
