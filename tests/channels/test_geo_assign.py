"""Placing points in grid polygons (channels.geo.assign): exact, with the overlap rule (the
smaller grid, then the smaller grid ID), the same on DuckDB and on Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.channels.geo.assign import assign_points, register_index
from quanwang.channels.geo.choices import How
from quanwang.channels.geo.index import build_index, save_index
from quanwang.channels.geo.polygons import GridShapes, read_shapes
from tests import factories

Point = tuple[str, float | None, float | None, str | None]


def shapes_of(directory: Path, polygons: dict[str, str]) -> GridShapes:
    files = factories.canonical_files(
        directory,
        grids=[
            {"grid_id": grid, "name": grid, "grid_type": "沿街", "county_code": "C1",
             "boundary_wkt": wkt}
            for grid, wkt in polygons.items()
        ],
    )  # fmt: skip
    return read_shapes(files["grids"])


def index_folder(directory: Path, shapes: GridShapes, **options: Any) -> tuple[Path, float]:
    index = build_index(shapes, **options)
    folder = directory / "index"
    save_index(index, folder)
    return folder, index.delta


def points_file(directory: Path, points: list[Point]) -> Path:
    path = directory / "points.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [p[0] for p in points],
                "lat": pa.array([p[1] for p in points], pa.float64()),
                "lon": pa.array([p[2] for p in points], pa.float64()),
                "grid_id": pa.array([p[3] for p in points], pa.string()),
            }
        ),
        path,
    )
    return path


def run(con: Any, folder: Path, delta: float, points: Path) -> dict[str, tuple[Any, str]]:
    index = register_index(con, folder, delta=delta)
    result = con.to_pyarrow(assign_points(con.read_parquet(str(points)), index=index))
    ids, grids, hows = (result.column(c).to_pylist() for c in ("id", "grid_id", "how"))
    assert len(set(ids)) == len(ids), "each point once"
    return {i: (g, h) for i, g, h in zip(ids, grids, hows, strict=True)}


def assign(tmp_path: Path, polygons: dict[str, str], points: list[Point]) -> dict[str, Any]:
    shapes = shapes_of(tmp_path, polygons)
    folder, delta = index_folder(tmp_path, shapes)
    return run(ibis.duckdb.connect(), folder, delta, points_file(tmp_path, points))


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return shapely.box(x0, y0, x1, y1).wkt


def test_points_inside_outside_and_without_coordinates(tmp_path: Path) -> None:
    # Given one grid, a customer inside it, one outside every grid and one without coordinates
    result = assign(
        tmp_path,
        {"G1": box(113.0, 23.0, 113.1, 23.1)},
        [
            ("in", 23.05, 113.05, "G9"),
            ("out", 23.5, 113.5, "G1"),
            ("nowhere", None, None, "G7"),
            ("half", 23.05, None, None),
        ],
    )

    # Then the first gets the polygon's grid, the second none, the last keep their import
    assert result["in"] == ("G1", How.POLYGON)
    assert result["out"] == (None, How.UNASSIGNED)
    assert result["nowhere"] == ("G7", How.IMPORTED)
    assert result["half"] == (None, How.IMPORTED)


def test_a_point_in_an_overlap_goes_to_the_smaller_grid(tmp_path: Path) -> None:
    # Given a campus inside a street grid
    result = assign(
        tmp_path,
        {"STREET": box(113.0, 23.0, 113.1, 23.1), "CAMPUS": box(113.02, 23.02, 113.04, 23.04)},
        [("campus", 23.03, 113.03, None), ("street", 23.08, 113.08, None)],
    )

    assert result["campus"] == ("CAMPUS", How.POLYGON)
    assert result["street"] == ("STREET", How.POLYGON)


def test_between_grids_of_the_same_area_the_smaller_grid_id_wins(tmp_path: Path) -> None:
    # Given two grids of the same size overlapping by half, and two touching along an edge
    result = assign(
        tmp_path,
        {
            "B": box(0.0, 0.0, 1.0, 1.0),
            "A": box(0.5, 0.0, 1.5, 1.0),
            "D": box(3.0, 0.0, 4.0, 1.0),
            "C": box(4.0, 0.0, 5.0, 1.0),
        },
        [
            ("overlap", 0.5, 0.75, None),
            ("only-b", 0.5, 0.25, None),
            ("shared-edge", 0.5, 4.0, None),
            ("corner", 1.0, 5.0, None),
        ],
    )

    assert result["overlap"] == ("A", How.POLYGON)
    assert result["only-b"] == ("B", How.POLYGON)
    assert result["shared-edge"] == ("C", How.POLYGON)  # on both: the rule decides
    assert result["corner"] == ("C", How.POLYGON)  # a boundary belongs to its polygon


def test_a_hole_is_not_part_of_its_grid(tmp_path: Path) -> None:
    ring = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 3), (1, 3)]]
    )
    result = assign(
        tmp_path,
        {"RING": ring.wkt, "ISLAND": box(1.5, 1.5, 2.5, 2.5)},
        [("hole", 1.2, 1.2, None), ("island", 2.0, 2.0, None), ("ring", 0.5, 0.5, None)],
    )

    assert result["hole"] == (None, How.UNASSIGNED)
    assert result["island"] == ("ISLAND", How.POLYGON)
    assert result["ring"] == ("RING", How.POLYGON)


def reference(shapes: GridShapes, points: list[Point]) -> dict[str, tuple[Any, str]]:
    """What shapely says: the first grid in rule order whose polygon covers the point."""
    expected: dict[str, tuple[Any, str]] = {}
    for pid, lat, lon, grid in points:
        if lat is None or lon is None:
            expected[pid] = (grid, How.IMPORTED)
            continue
        holders = np.flatnonzero(shapely.intersects_xy(shapes.geometries, lon, lat))
        expected[pid] = (
            (shapes.ids[holders[0]], How.POLYGON) if len(holders) else (None, How.UNASSIGNED)
        )
    return expected


# Coordinates in 1/64 degree: exactly representable, so orientation tests are exact and a
# point on an edge is on it for both shapely and the engines.
xs = st.integers(min_value=0, max_value=64 * 3).map(lambda k: 113 + k / 64)
ys = st.integers(min_value=0, max_value=64 * 3).map(lambda k: 23 + k / 64)
polygons = st.lists(
    st.lists(st.tuples(xs, ys), min_size=3, max_size=7)
    .map(lambda pts: shapely.convex_hull(shapely.multipoints(pts)))
    .filter(lambda g: g.geom_type == "Polygon" and g.area > 0),
    min_size=1,
    max_size=6,
)
located = st.lists(st.tuples(xs, ys), min_size=1, max_size=40)
DUCKDB = ibis.duckdb.connect()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(polygons=polygons, places=located, cells_across=st.sampled_from([1, 3, 8]))
def test_every_point_gets_what_shapely_says(
    tmp_path_factory: pytest.TempPathFactory,
    polygons: list[Any],
    places: list[tuple[float, float]],
    cells_across: int,
) -> None:
    # Given random convex grids (overlapping at will) and random points, on edges included
    directory = tmp_path_factory.mktemp("prop")
    shapes = shapes_of(directory, {f"G{i}": p.wkt for i, p in enumerate(polygons)})
    points: list[Point] = [(f"P{i}", y, x, None) for i, (x, y) in enumerate(places)]

    # When they are assigned through the cell index, whatever the cell size
    folder, delta = index_folder(directory, shapes, cells_across=cells_across)
    result = run(DUCKDB, folder, delta, points_file(directory, points))

    # Then each point gets the grid shapely finds by the rule: in particular, a point inside
    # exactly one polygon gets that polygon
    assert result == reference(shapes, points)


def voronoi_city(rng: np.random.Generator, grids: int) -> dict[str, str]:
    """A city of `grids` street grids tiling a box, and campuses inside some of them."""
    seeds = shapely.multipoints(rng.uniform([113.0, 23.0], [113.2, 23.2], (grids, 2)))
    frame = shapely.box(113.0, 23.0, 113.2, 23.2)
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds)), frame)
    polygons = {f"S{i:04d}": cell.wkt for i, cell in enumerate(cells)}
    for i, (x, y) in enumerate(rng.uniform([113.0, 23.0], [113.2, 23.2], (grids // 10, 2))):
        polygons[f"C{i:04d}"] = shapely.Point(x, y).buffer(0.003, quad_segs=4).wkt
    return polygons


def random_points(rng: np.random.Generator, count: int) -> list[Point]:
    xy = rng.uniform([112.99, 22.99], [113.21, 23.21], (count, 2))
    return [
        (f"P{i}", None if i % 50 == 0 else y, None if i % 50 == 0 else x, "IMPORTED")
        for i, (x, y) in enumerate(xy.tolist())
    ]


def test_a_city_of_grids_matches_shapely(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    shapes = shapes_of(tmp_path, voronoi_city(rng, 300))
    points = random_points(rng, 20_000)
    folder, delta = index_folder(tmp_path, shapes)

    result = run(DUCKDB, folder, delta, points_file(tmp_path, points))

    assert result == reference(shapes, points)


@pytest.mark.spark
@pytest.mark.warehouse_only
def test_duckdb_and_spark_assign_alike(tmp_path: Path) -> None:
    pytest.importorskip(
        "pyspark", reason="the spark extra is not installed: pip install '.[spark]'"
    )
    from quanwang.insight.choices import Engine
    from quanwang.insight.engines import connect

    # Given a city of grids and points around it, on an edge and on a vertex among them
    rng = np.random.default_rng(9)
    shapes = shapes_of(tmp_path, voronoi_city(rng, 200))
    points = random_points(rng, 5_000)
    x, y = shapely.get_coordinates(shapes.geometries[0])[0]
    points += [("vertex", float(y), float(x), None)]
    folder, delta = index_folder(tmp_path, shapes)
    path = points_file(tmp_path, points)

    # When the same expressions run on both engines
    on_duckdb = run(DUCKDB, folder, delta, path)
    on_spark = run(connect(Engine.SPARK), folder, delta, path)

    # Then they agree on every point, and with shapely
    assert on_spark == on_duckdb
    assert on_duckdb == reference(shapes, points)
