"""The grids' polygons as the geo part reads them: from the warehouse's current grids file,
parsed once per file version (a new import is a new file), with the rule that settles
overlaps as a rank: the smaller grid first (by area), then the smaller grid ID."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import shapely

from quanwang.data.geometry import Overlap, km2, overlapping_pairs, read_boundary
from quanwang.data.warehouse import Warehouse, sql_literal


@dataclass(frozen=True)
class GridShapes:
    """The grids with a usable boundary, in rank order (rank i is the i-th: the rule's
    order), and those without one."""

    version: str  # the grids file's version: what the caches of this part are keyed on
    ids: tuple[str, ...]
    names: tuple[str, ...]
    counties: tuple[str, ...]
    grid_types: tuple[str, ...]
    geometries: Any  # numpy array of shapely (Multi)Polygons
    km2: Any  # numpy array of areas, km²
    without_boundary: tuple[str, ...] = ()
    position: dict[str, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.position.update({grid: i for i, grid in enumerate(self.ids)})

    def __len__(self) -> int:
        return len(self.ids)

    def overlaps(self) -> list[Overlap]:
        return overlapping_pairs(self.ids, list(self.geometries))


EMPTY = GridShapes("", (), (), (), (), np.array([], dtype=object), np.array([]))
_cache: dict[str, GridShapes] = {}
_lock = threading.Lock()


def grids_version(store: Warehouse | None = None) -> str:
    """The current grids file's version ('' before any grids were imported)."""
    current = (store or Warehouse()).current_file("grids")
    return "" if current is None else current.parent.name


def grid_shapes(store: Warehouse | None = None) -> GridShapes:
    """The current grids' shapes, parsed once per process and file version."""
    store = store or Warehouse()
    current = store.current_file("grids")
    if current is None:
        return EMPTY
    key = str(current)
    with _lock:
        found = _cache.get(key)
    if found is not None:
        return found
    shapes = read_shapes(current)
    with _lock:
        _cache.clear()  # one version at a time: the newest
        _cache[key] = shapes
    return shapes


def read_shapes(path: Path) -> GridShapes:
    """Parse the boundaries of a grids file. The importer checked them; a file loaded before
    it did is read with the same rules, and a boundary they refuse counts as none."""
    rows = (
        duckdb.connect()
        .sql(
            "SELECT grid_id, name, county_code, grid_type, boundary_wkt "
            f"FROM read_parquet({sql_literal(str(path))}) ORDER BY grid_id"
        )
        .fetchall()
    )
    kept: list[tuple[float, str, str, str, str, Any]] = []
    missing: list[str] = []
    for grid_id, name, county, grid_type, text in rows:
        geometry = read_boundary(str(text)).geometry if text else None
        if geometry is None:
            missing.append(str(grid_id))
            continue
        kept.append((km2(geometry), str(grid_id), str(name), str(county), str(grid_type), geometry))
    kept.sort(key=lambda row: (row[0], row[1]))  # the overlap rule's order
    geometries = np.array([row[5] for row in kept], dtype=object)
    shapely.prepare(geometries)
    return GridShapes(
        version=path.parent.name,
        ids=tuple(row[1] for row in kept),
        names=tuple(row[2] for row in kept),
        counties=tuple(row[3] for row in kept),
        grid_types=tuple(row[4] for row in kept),
        geometries=geometries,
        km2=np.array([row[0] for row in kept], dtype=float),
        without_boundary=tuple(missing),
    )
