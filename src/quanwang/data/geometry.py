"""Grid boundaries and coordinates as the importer reads and checks them.

- A boundary is a polygon or multipolygon, as WKT (`POLYGON ((lon lat, ...))`) or as a GeoJSON
  geometry, in a CSV or workbook cell, or the geometry of a GeoJSON feature (`geojson_source`:
  a FeatureCollection read as rows, its properties as columns, its geometry as boundary_wkt).
- A self-intersecting (invalid) polygon is repaired with shapely.make_valid and kept, the
  repair reported, when the repair is a polygon or multipolygon with area (a dangling spike it
  drops has none); otherwise the row is quarantined with the reason.
- Coordinates are longitude, latitude (x, y). Out of range (|lon| > 180, |lat| > 90) or swapped
  ones are refused, naming the file, row and field. Swapped: a latitude beyond ±90 that would be
  a valid longitude, or a place outside the operator's area (`OperatorArea`, from the grids)
  that lies inside it once swapped.
- Overlaps between grids (`overlapping_pairs`) are reported with the rule that settles them:
  a point in an overlap goes to the smaller grid, ties to the smaller grid ID.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import shapely
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.data.rejects import RejectRow
from quanwang.data.schema import Table
from quanwang.data.sources import Source, SourceError, csv_relation
from quanwang.data.warehouse import Warehouse, quote, scalar_int

BOUNDARY = "boundary_wkt"
POINT_COLUMNS = ("lat", "lon")
GEOJSON_SUFFIXES = (".geojson", ".json")
KM_PER_DEGREE = 111.32
# The operator's area: around its grids' middle, this many times as far out as the median
# grid lies from it (a few strays, swapped ones among them, move neither), and never less than
# AREA_MIN_RADIUS degrees.
AREA_SPREAD_FACTOR = 4.0
AREA_MIN_RADIUS = 1.0
# Overlaps smaller than this share of the smaller grid are rounding along a shared edge.
OVERLAP_MIN_SHARE = 1e-6
LISTED = 5  # overlaps or repairs a note names before "…"
# A polygon with less area than this (degrees², about 0.01 m²) is a line drawn as a polygon.
MIN_AREA = 1e-12


class GeometryReject(StrEnum):
    """Reason codes of the rows this module sets aside (beside data.rejects.Reject's)."""

    GEOMETRY = "geometry"  # not a usable polygon
    SWAPPED = "swapped"  # latitude and longitude in each other's place
    COORDINATES = "coordinates"  # a boundary's coordinates out of range


GEOMETRY_LABELS = {
    GeometryReject.GEOMETRY: gettext_lazy("Not a usable boundary polygon"),
    GeometryReject.SWAPPED: gettext_lazy("Latitude and longitude swapped"),
    GeometryReject.COORDINATES: gettext_lazy("Coordinates out of range"),
}

OVERLAP_RULE = gettext_lazy(
    "A point in an overlap goes to the smaller grid (the more specific one, such as a campus "
    "inside a street grid); between grids of the same area, to the smaller grid ID."
)


@dataclass(frozen=True)
class OperatorArea:
    """Where the operator's grids lie: a square of `radius` degrees around (lon, lat)."""

    lon: float
    lat: float
    radius: float

    def holds(self, lon: float, lat: float) -> bool:
        return abs(lon - self.lon) <= self.radius and abs(lat - self.lat) <= self.radius

    def sql(self, lon: str, lat: str) -> str:
        return (
            f"(abs({lon} - ({self.lon!r})) <= {self.radius!r} "
            f"AND abs({lat} - ({self.lat!r})) <= {self.radius!r})"
        )


def operator_area(centres: Sequence[tuple[float, float]]) -> OperatorArea | None:
    """The area around the middle of `centres` (lon, lat); None for fewer than three, where a
    middle cannot be told from a stray. The median keeps a few swapped grids from moving it."""
    if len(centres) < 3:
        return None
    points = np.asarray(centres, dtype=float)
    lon, lat = float(np.median(points[:, 0])), float(np.median(points[:, 1]))
    spread = np.maximum(np.abs(points[:, 0] - lon), np.abs(points[:, 1] - lat))
    radius = max(AREA_MIN_RADIUS, AREA_SPREAD_FACTOR * float(np.median(spread)))
    return OperatorArea(lon=lon, lat=lat, radius=radius)


@dataclass
class Boundary:
    """One boundary read: `geometry` (possibly repaired), or `problem` (code, zh, en)."""

    geometry: Any = None
    problem: tuple[GeometryReject, str, str] | None = None
    repaired: str = ""  # what was wrong with it before the repair (GEOS's words)
    wkt: str = ""  # the text to store where it is not the text read (a repair, GeoJSON)


def read_boundary(text: str) -> Boundary:
    """Parse and check one boundary (WKT or a GeoJSON geometry); no operator-area check."""
    text = text.strip()
    try:
        geometry = shapely.from_geojson(text) if text.startswith("{") else shapely.from_wkt(text)
    except (shapely.errors.ShapelyError, ValueError) as exc:
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
        return _bad(
            f"无法读取为多边形（WKT 或 GeoJSON）：{detail}",
            f"cannot be read as a polygon (WKT or GeoJSON): {detail}",
        )
    kind = shapely.get_type_id(geometry)
    if geometry is None or kind not in (3, 6):  # Polygon, MultiPolygon
        name = "None" if geometry is None else geometry.geom_type
        return _bad(f"是 {name}，不是多边形", f"a {name}, not a polygon")
    if geometry.is_empty:
        return _bad("空多边形", "an empty polygon")
    coords = shapely.get_coordinates(geometry)
    if not np.isfinite(coords).all():
        return _bad("坐标含非数值", "a coordinate is not a finite number")
    problem = coordinate_problem(coords)
    if problem is not None:
        return Boundary(problem=problem)
    reason = ""
    if not shapely.is_valid(geometry):
        reason = shapely.is_valid_reason(geometry)
        repaired = _polygonal(shapely.make_valid(geometry))
        if repaired is None or repaired.area <= MIN_AREA:
            return _bad(
                f"多边形无效（{reason}），修复后不再是有面积的多边形",
                f"an invalid polygon ({reason}) whose repair is no polygon with area",
            )
        geometry = repaired
    if geometry.area <= MIN_AREA:
        return _bad(
            "多边形没有面积（各点几乎在一条线上）",
            "a polygon without area (its points lie on a line, or nearly)",
        )
    # Stored as WKT: a repair's, or a GeoJSON geometry's; WKT that needed no repair as written.
    wkt = shapely.to_wkt(geometry, rounding_precision=-1) if reason or text.startswith("{") else ""
    return Boundary(geometry=geometry, repaired=reason, wkt=wkt)


def _bad(zh: str, en: str) -> Boundary:
    return Boundary(problem=(GeometryReject.GEOMETRY, zh, en))


def _polygonal(geometry: Any) -> Any:
    """The polygon or multipolygon a repair gives, or its polygonal part where what else it
    holds has no area (the line of a dangling spike); None where it holds no polygon."""
    kind = shapely.get_type_id(geometry)
    if kind in (3, 6):
        return geometry
    if kind != 7:  # GeometryCollection
        return None
    parts = [p for p in shapely.get_parts(geometry) if shapely.get_type_id(p) in (3, 6)]
    if not parts:
        return None
    return shapely.union_all(parts)


def coordinate_problem(coords: Any) -> tuple[GeometryReject, str, str] | None:
    """Out-of-range coordinates of a boundary ((x, y) = (lon, lat)), naming a swap where
    swapping them would put every one in range."""
    x, y = coords[:, 0], coords[:, 1]
    if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        return None
    if (np.abs(y) <= 180).all() and (np.abs(x) <= 90).all():
        return (
            GeometryReject.SWAPPED,
            f"经纬度填反了：纬度（y）出现 {_far(y, 90)}，超出 ±90；应按“经度 纬度”的顺序书写",
            f"longitude and latitude are swapped: a latitude (y) of {_far(y, 90)} is beyond "
            "±90; write each point as 'longitude latitude'",
        )
    return (
        GeometryReject.COORDINATES,
        "坐标超出范围：经度须在 ±180 之内，纬度须在 ±90 之内",
        "coordinates out of range: longitude must lie within ±180, latitude within ±90",
    )


def _far(values: Any, limit: float) -> str:
    return f"{float(values[np.argmax(np.abs(values))]):g}" if len(values) else str(limit)


def swapped_boundary(geometry: Any, area: OperatorArea) -> tuple[GeometryReject, str, str] | None:
    """A boundary in range but outside the operator's area, which swapped lies inside it."""
    centre = geometry.centroid
    if area.holds(centre.x, centre.y) or not area.holds(centre.y, centre.x):
        return None
    return (
        GeometryReject.SWAPPED,
        f"经纬度似乎填反了：中心 (经度 {centre.x:.4f}, 纬度 {centre.y:.4f}) 不在本网区域内，"
        "互换后在区域内；应按“经度 纬度”的顺序书写",
        f"longitude and latitude look swapped: the centre (lon {centre.x:.4f}, lat "
        f"{centre.y:.4f}) lies outside the operator's area and inside it once swapped; write "
        "each point as 'longitude latitude'",
    )


def area_of_grids(store: Warehouse) -> OperatorArea | None:
    """The operator's area from the stored grids: their centroid columns, else their
    boundaries' centres."""
    current = store.current_file("grids")
    if current is None:
        return None
    rows = (
        duckdb.connect()
        .sql(f"SELECT centroid_lon, centroid_lat, {quote(BOUNDARY)} FROM {store.relation('grids')}")
        .fetchall()
    )
    centres: list[tuple[float, float]] = []
    for lon, lat, text in rows:
        if lon is not None and lat is not None:
            centres.append((float(lon), float(lat)))
        elif text:
            read = read_boundary(str(text))
            if read.geometry is not None:
                point = read.geometry.centroid
                centres.append((point.x, point.y))
    return operator_area(centres)


def km2(geometry: Any) -> float:
    """About the area in km² of a lon/lat geometry (a degree of longitude shortened by the
    cosine of the latitude): enough to compare and report grids, not to survey them."""
    if geometry is None or geometry.is_empty:
        return 0.0
    latitude = math.radians(geometry.centroid.y)
    return float(geometry.area) * KM_PER_DEGREE**2 * math.cos(latitude)


@dataclass(frozen=True)
class Overlap:
    first: str  # the smaller grid ID of the pair
    second: str
    km2: float
    share: float  # of the smaller grid's area (by km2)
    winner: str  # the grid the rule gives a point in the overlap


def overlapping_pairs(ids: Sequence[str], geometries: Sequence[Any]) -> list[Overlap]:
    """Pairs of grids whose areas overlap, largest share first: an STRtree finds the pairs
    whose boxes meet, their intersections give the area (a shared edge gives none)."""
    if len(geometries) < 2:
        return []
    array = np.asarray(geometries, dtype=object)
    tree = shapely.STRtree(array)
    left, right = tree.query(array, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    common = shapely.intersection(array[left], array[right])
    areas = {i: km2(array[i]) for i in set(left.tolist()) | set(right.tolist())}
    found = []
    for i, j, shape in zip(left.tolist(), right.tolist(), common, strict=True):
        overlap = km2(shape)
        a, b = areas[i], areas[j]
        share = overlap / max(min(a, b), 1e-12)
        if share <= OVERLAP_MIN_SHARE:
            continue
        winner = min((a, ids[i]), (b, ids[j]))[1]
        first, second = sorted((ids[i], ids[j]))
        found.append(Overlap(first, second, round(overlap, 6), round(min(share, 1.0), 6), winner))
    return sorted(found, key=lambda o: (-o.share, o.first, o.second))


@dataclass
class GeometryFindings:
    """What the checks found: rows to set aside (rowid of `checked`, column, value, code, zh,
    en) and notes for the import report."""

    bad: list[tuple[int, str, str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def rejects(self, row_of: Any) -> list[RejectRow]:
        return [(row_of(rid), *rest) for rid, *rest in self.bad]


def check_geometry(
    *, con: duckdb.DuckDBPyConnection, table: Table, store: Warehouse
) -> GeometryFindings:
    """Check the boundaries and the point coordinates of `checked`: add the rows they refuse to
    `bad_rows` (and `good` leaves them out), and store each repaired boundary's WKT in place
    of its text."""
    findings = GeometryFindings()
    if BOUNDARY in table.by_name:
        _check_boundaries(con=con, store=store, findings=findings)
    if all(name in table.by_name for name in POINT_COLUMNS):
        _check_points(con=con, store=store, findings=findings)
    if findings.bad:
        rids = sorted({row[0] for row in findings.bad})
        con.execute(
            "INSERT INTO bad_rows SELECT unnest(?::BIGINT[]) EXCEPT SELECT rid FROM bad_rows",
            [rids],
        )
        columns = ", ".join(quote(c.name) for c in table.columns)
        con.execute(
            f"CREATE OR REPLACE VIEW good AS SELECT {columns} FROM checked c "
            "ANTI JOIN bad_rows b ON c.rowid = b.rid"
        )
    return findings


def _check_boundaries(
    *, con: duckdb.DuckDBPyConnection, store: Warehouse, findings: GeometryFindings
) -> None:
    rows = con.sql(
        f"SELECT rowid, {quote(BOUNDARY)}, grid_id FROM checked "
        f"WHERE {quote(BOUNDARY)} IS NOT NULL ORDER BY rowid"
    ).fetchall()
    read: list[tuple[int, str, Boundary]] = []
    for rid, text, grid_id in rows:
        boundary = read_boundary(str(text))
        if boundary.problem is not None:
            code, zh, en = boundary.problem
            findings.bad.append((int(rid), BOUNDARY, _shown(text), code, zh, en))
        else:
            read.append((int(rid), str(grid_id or ""), boundary))
    centres = [(b.geometry.centroid.x, b.geometry.centroid.y) for _, _, b in read]
    area = operator_area(centres) if len(centres) >= 3 else area_of_grids(store)
    kept: list[tuple[int, str, Boundary]] = []
    for rid, grid_id, boundary in read:
        swapped = swapped_boundary(boundary.geometry, area) if area is not None else None
        if swapped is not None:
            code, zh, en = swapped
            findings.bad.append((rid, BOUNDARY, boundary.geometry.wkt[:200], code, zh, en))
        else:
            kept.append((rid, grid_id, boundary))
    rewritten = [(rid, b.wkt) for rid, _, b in kept if b.wkt]
    if rewritten:
        con.execute(
            "CREATE TEMP TABLE _boundary_texts AS SELECT unnest(?::BIGINT[]) AS rid, "
            "unnest(?::VARCHAR[]) AS wkt",
            [[r for r, _ in rewritten], [w for _, w in rewritten]],
        )
        # In place: an UPDATE keeps each row's rowid, which the rejects and bad_rows name.
        con.execute(
            f"UPDATE checked SET {quote(BOUNDARY)} = t.wkt FROM _boundary_texts t "
            "WHERE checked.rowid = t.rid"
        )
    repaired = [(rid, grid_id, b.repaired) for rid, grid_id, b in kept if b.repaired]
    if repaired:
        findings.notes.append(_repair_note(repaired, con=con))
    bad_rids = {row[0] for row in findings.bad} | _bad_rowids(con)
    good = [(grid_id, b.geometry) for rid, grid_id, b in kept if rid not in bad_rids and grid_id]
    overlaps = overlapping_pairs([g for g, _ in good], [geom for _, geom in good])
    if overlaps:
        findings.notes.append(overlap_note(overlaps))


def _bad_rowids(con: duckdb.DuckDBPyConnection) -> set[int]:
    return {int(rid) for (rid,) in con.sql("SELECT rid FROM bad_rows").fetchall()}


def _shown(text: Any) -> str:
    value = str(text)
    return value if len(value) <= 200 else value[:200] + "…"


def _repair_note(repaired: list[tuple[int, str, str]], *, con: duckdb.DuckDBPyConnection) -> str:
    listed = "; ".join(f"{grid or '#' + str(rid)}: {reason}" for rid, grid, reason in repaired)
    if len(repaired) > LISTED:
        listed = "; ".join(
            f"{grid or '#' + str(rid)}: {reason}" for rid, grid, reason in repaired[:LISTED]
        )
        listed += "; …"
    return _(
        "Boundaries repaired (self-intersecting; shapely make_valid) and loaded: %(count)d "
        "(%(listed)s)"
    ) % {"count": len(repaired), "listed": listed}


def overlap_note(overlaps: Sequence[Overlap]) -> str:
    listed = "; ".join(
        _("%(a)s and %(b)s: %(km2).3f km², %(share).0f%% of the smaller, to %(winner)s")
        % {"a": o.first, "b": o.second, "km2": o.km2, "share": o.share * 100, "winner": o.winner}
        for o in overlaps[:LISTED]
    )
    if len(overlaps) > LISTED:
        listed += "; …"
    return _("Overlapping pairs of grids: %(count)d (%(listed)s). %(rule)s") % {
        "count": len(overlaps),
        "listed": listed,
        "rule": OVERLAP_RULE,
    }


def _check_points(
    *, con: duckdb.DuckDBPyConnection, store: Warehouse, findings: GeometryFindings
) -> None:
    """Rows whose lat and lon look swapped: a latitude beyond ±90 that is a valid longitude
    while the longitude is a valid latitude, or a place outside the operator's area (from the
    stored grids) that swapped lies inside it. SQL, as subscribers may be millions of rows."""
    present = "lat IS NOT NULL AND lon IS NOT NULL AND isfinite(lat) AND isfinite(lon)"
    if scalar_int(con, f"SELECT count(*) FROM checked WHERE {present}") == 0:
        return
    by_range = "(abs(lat) > 90 AND abs(lat) <= 180 AND abs(lon) <= 90)"
    area = area_of_grids(store)
    condition = by_range
    if area is not None:
        condition += f" OR (NOT {area.sql('lon', 'lat')} AND {area.sql('lat', 'lon')})"
    for rid, lat, lon in con.sql(
        f"SELECT rowid, lat, lon FROM checked WHERE {present} AND ({condition}) ORDER BY rowid"
    ).fetchall():
        findings.bad.append(
            (
                int(rid),
                "lat",
                f"{lat:g}",
                GeometryReject.SWAPPED,
                f"纬度与经度似乎填反了：纬度 {lat:g}、经度 {lon:g} 不在本网区域内"
                "（或纬度超出 ±90），互换后在区域内；请检查字段映射中 lat 与 lon 两列",
                f"latitude and longitude look swapped: lat {lat:g}, lon {lon:g} lies outside the "
                "operator's area (or the latitude beyond ±90) and inside it once swapped; check "
                "the lat and lon columns of the mapping",
            )
        )


# GeoJSON FeatureCollections as rows ---------------------------------------------------------


@dataclass
class GeoJsonSource(Source):
    """A FeatureCollection read as CSV rows: one row a feature, its properties as columns (and
    its `id`, where the properties have none), its geometry as boundary_wkt. The quarantine's
    `row` is the feature's place in `features` (the first is 1)."""

    notes: list[str] = field(default_factory=list)
    set_aside: list[RejectRow] = field(default_factory=list)

    @property
    def set_aside_rows(self) -> int:
        return 0

    def with_set_aside(self, rejects: Iterable[RejectRow]) -> list[RejectRow]:
        return sorted(chain(rejects, self.set_aside), key=lambda r: (r[0], r[1]))

    def labelled(self, file_name: str, row: int) -> tuple[str, int]:
        return f"{file_name}:features", row - 1


def geojson_source(*, path: Path, work_dir: Path) -> GeoJsonSource:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SourceError(
            _("%(file)s: not a readable GeoJSON file (%(detail)s)")
            % {"file": path.name, "detail": (str(exc).splitlines() or [""])[0]}
        ) from exc
    features = data.get("features") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(features, list)
    ):
        raise SourceError(
            _("%(file)s: a GeoJSON file must hold a FeatureCollection (a list of features)")
            % {"file": path.name}
        )
    if not features:
        raise SourceError(_("%(file)s: the FeatureCollection has no feature") % {"file": path.name})
    names: dict[str, None] = {}
    for feature in features:
        properties = feature.get("properties") if isinstance(feature, dict) else None
        for key in properties or {}:
            names.setdefault(str(key), None)
    with_id = "id" not in names and any(isinstance(f, dict) and "id" in f for f in features)
    columns = [n for n in names if n != BOUNDARY] + (["id"] if with_id else []) + [BOUNDARY]
    target = work_dir / "source.csv"
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for feature in features:
            feature = feature if isinstance(feature, dict) else {}
            properties = feature.get("properties") or {}
            values = (
                {str(k): v for k, v in properties.items()} if isinstance(properties, dict) else {}
            )
            if with_id:
                values["id"] = feature.get("id")
            geometry = feature.get("geometry")
            values[BOUNDARY] = json.dumps(geometry, ensure_ascii=False) if geometry else None
            writer.writerow([_cell(values.get(name)) for name in columns])
    notes = [
        _(
            "%(file)s: %(count)d GeoJSON features read; their properties as columns, their "
            "geometry as boundary_wkt"
        )
        % {"file": path.name, "count": len(features)}
    ]
    if BOUNDARY in names:
        notes.append(
            _("%(file)s: the property boundary_wkt is not read; the feature's geometry is")
            % {"file": path.name}
        )
    return GeoJsonSource(
        columns=columns,
        relation=csv_relation(target, columns),
        is_csv=True,
        csv_path=target,
        notes=notes,
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
