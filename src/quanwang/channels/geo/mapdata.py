"""What the map page draws: the grids' outlines, simplified for display and computed once
per grids file, and the KPI values of its choropleth.

The outlines are kept as JSON under <VAR_DIR>/geo/maps/<grids version>.json, built by one
process (kept_files.build_once). Each ring is simplified (shapely, preserving topology, to a
tolerance of SIMPLIFY_SHARE of the median grid's width), its coordinates written as integers
in units of 1/SCALE degree (about 1.1 m), each after the first as the step from the one before:
a third of the bytes of plain GeoJSON. The page's script turns them back into GeoJSON for
echarts.registerMap. A user is sent the grids of their scope only; the answer carries an ETag
(the grids version and the scope), so a reload costs a 304.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext_lazy as _

from quanwang.channels.geo.choices import How, PointKind
from quanwang.channels.geo.polygons import GridShapes, grid_shapes
from quanwang.channels.geo.runs import geo_dir, latest_run
from quanwang.data.customers import Scope
from quanwang.insight.kept_files import KeptJson, build_once

SCALE = 100_000
SIMPLIFY_SHARE = 0.02
MAP_FORMAT = 1
_parsed: KeptJson[dict[str, Any]] = KeptJson(size=2)
_answers: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_answers_lock = threading.Lock()
ANSWERS_KEPT = 16

# The KPIs this part computes itself, from the latest assignment run (key, label); the grid
# scorecards' (channels.scorecards.services.MAP_KPIS) come after them where they exist.
OWN_KPIS = (
    ("geo:customers", _("Customers placed in the grid")),
    ("geo:stores", _("Stores placed in the grid")),
    ("geo:enterprises", _("Enterprises placed in the grid")),
)
OWN_KINDS = {
    "geo:customers": PointKind.SUBSCRIBERS,
    "geo:stores": PointKind.STORES,
    "geo:enterprises": PointKind.ENTERPRISES,
}


def _encode_ring(coords: Any) -> list[int]:
    points = np.round(np.asarray(coords)[:, :2] * SCALE).astype(np.int64)
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1)
    points = points[keep]
    steps = np.vstack([points[:1], np.diff(points, axis=0)])
    return [int(v) for v in steps.ravel()]


def outline(geometry: Any, tolerance: float) -> list[list[list[int]]]:
    """Polygons → rings → flat [x0, y0, dx1, dy1, ...] of a (multi)polygon, simplified."""
    simple = shapely.simplify(geometry, tolerance, preserve_topology=True)
    if simple.is_empty:
        simple = geometry
    polygons = []
    for part in shapely.get_parts(simple):
        rings = [part.exterior, *part.interiors]
        polygons.append([_encode_ring(ring.coords) for ring in rings])
    return polygons


def build_outlines(shapes: GridShapes) -> dict[str, Any]:
    if len(shapes) == 0:
        return {"format": MAP_FORMAT, "version": shapes.version, "scale": SCALE, "grids": []}
    width = math.sqrt(float(np.median(shapely.area(shapes.geometries))))
    tolerance = width * SIMPLIFY_SHARE
    grids: list[list[Any]] = [
        [grid, name, county, kind, outline(geometry, tolerance)]
        for grid, name, county, kind, geometry in zip(
            shapes.ids, shapes.names, shapes.counties, shapes.grid_types, shapes.geometries,
            strict=True,
        )
    ]  # fmt: skip
    # The largest first: where grids overlap, the smaller (the rule's winner) is drawn on top.
    grids.reverse()
    return {"format": MAP_FORMAT, "version": shapes.version, "scale": SCALE, "grids": grids}


def _outlines_file(version: str) -> Path:
    return geo_dir() / "maps" / f"{version or 'none'}.json"


def outlines(shapes: GridShapes | None = None) -> dict[str, Any]:
    """The display outlines of the current grids, built once per grids version."""
    shapes = shapes or grid_shapes()
    path = _outlines_file(shapes.version)

    def existing() -> dict[str, Any] | None:
        return _parsed.load(
            path,
            accept=lambda d: d.get("format") == MAP_FORMAT and d.get("version") == shapes.version,
            parse=lambda d: dict(d),
        )

    def build() -> dict[str, Any]:
        data = build_outlines(shapes)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        temporary.replace(path)
        for old in path.parent.glob("*.json"):
            if old != path:
                old.unlink(missing_ok=True)
        return data

    found = build_once(lock=path.parent / ".lock", existing=existing, build=build)
    if found is None:  # another process is building it, or the folder cannot be written
        path.parent.mkdir(parents=True, exist_ok=True)
        found = build_outlines(shapes)
    return found


def visible(scope: Scope, grid_id: str) -> bool:
    """Whether a grid is in the scope: a holder of the root sees every grid, including those
    no org unit names yet."""
    return scope.grids is None or scope.gridless or grid_id in scope.grids


def scope_tag(scope: Scope) -> str:
    if scope.grids is None or scope.gridless:
        return "all"
    digest = hashlib.sha256("\n".join(sorted(scope.grids)).encode()).hexdigest()
    return digest[:16]


def etag(version: str, scope: Scope) -> str:
    return f'"{version or "none"}-{scope_tag(scope)}"'


def outlines_json(scope: Scope) -> tuple[bytes, str]:
    """The outlines of the grids in `scope`, as the JSON the page fetches, and its ETag."""
    shapes = grid_shapes()
    tag = etag(shapes.version, scope)
    key = (shapes.version, scope_tag(scope))
    with _answers_lock:
        kept = _answers.get(key)
        if kept is not None:
            _answers.move_to_end(key)
            return kept, tag
    data = outlines(shapes)
    grids = [row for row in data["grids"] if visible(scope, row[0])]
    body = json.dumps(
        {"version": data["version"], "scale": data["scale"], "grids": grids},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    with _answers_lock:
        _answers[key] = body
        while len(_answers) > ANSWERS_KEPT:
            _answers.popitem(last=False)
    return body, tag


def kpi_choices() -> list[tuple[str, str]]:
    """(key, label) of each KPI the map can colour the grids by."""
    choices = [(key, str(label)) for key, label in OWN_KPIS]
    try:
        from quanwang.channels.scorecards.services import MAP_KPIS
    except ImportError:
        return choices
    return choices + [(str(key), str(label)) for key, label in MAP_KPIS]


def kpi_values(*, kpi: str, month: str, scope: Scope) -> dict[str, float] | None:
    """grid → value of the KPI in `scope`; None where the KPI cannot be had (the scorecards
    part does not provide it, or no assignment has run)."""
    if kpi in OWN_KINDS:
        values = placed_counts(OWN_KINDS[kpi])
    else:
        try:
            from quanwang.channels.scorecards.services import (
                map_values,
            )
        except ImportError:
            return None
        values = map_values(month=month, kpi=kpi)
    if values is None:
        return None
    return {
        str(grid): float(value)
        for grid, value in values.items()
        if value is not None and visible(scope, str(grid)) and math.isfinite(float(value))
    }


def placed_counts(kind: PointKind) -> dict[str, float] | None:
    """grid → how many rows of `kind` the latest assignment placed there (by polygon, or as
    imported where they have no coordinates)."""
    import duckdb

    from quanwang.data.warehouse import sql_literal

    run = latest_run()
    parts = run.parts(kind) if run is not None else None
    if parts is None:
        return None
    rows = duckdb.connect().sql(
        f"SELECT grid_id, count(*) FROM read_parquet({sql_literal(parts)}) "
        f"WHERE how <> '{How.UNASSIGNED.value}' AND grid_id IS NOT NULL GROUP BY grid_id"
    )
    return {str(grid): float(count) for grid, count in rows.fetchall()}
