"""The assignment step of the nightly pipeline: customers, stores and enterprises placed in
the grid polygons of the warehouse's current files, each run kept as Parquet.

    <VAR_DIR>/geo/index/<grids version>/   the cell index (channels.geo.index), built once
    <VAR_DIR>/geo/runs/<run id>/           <kind>/part-*.parquet (id, grid_id, how),
                                           unassigned.parquet, manifest.json (written last)

A run is written in a folder of its own beside the others and renamed into place, and its
manifest is written last: a reader takes only runs with a manifest, so it never sees half a
run, and two runs at once never share a file. The newest RUNS_KEPT runs are kept.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
from django.conf import settings

from quanwang.channels.geo import placing
from quanwang.channels.geo.assign import assign_points, register_index
from quanwang.channels.geo.choices import POINT_KEYS, How, PointKind
from quanwang.channels.geo.index import build_index, save_index, saved_delta
from quanwang.channels.geo.polygons import GridShapes, grid_shapes
from quanwang.data.warehouse import Warehouse, sql_literal
from quanwang.insight.choices import Engine
from quanwang.insight.engines import connect, materialise, write_parquet

RUNS_KEPT = 3
MANIFEST = "manifest.json"
UNASSIGNED = "unassigned.parquet"


def geo_dir() -> Path:
    return Path(settings.VAR_DIR) / "geo"


@dataclass(frozen=True)
class Run:
    """A kept assignment run, as its manifest describes it."""

    run_id: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        return dict(self.manifest.get("counts", {}))

    @property
    def finished_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(str(self.manifest.get("finished_at")))
        except ValueError:
            return None

    @property
    def grids_version(self) -> str:
        return str(self.manifest.get("grids_version", ""))

    def parts(self, kind: PointKind) -> str | None:
        """A read_parquet pattern for the kind's rows (id, grid_id, how); None if the run has
        none (the warehouse had no such table)."""
        folder = self.folder / kind.value
        return str(folder / "*.parquet") if any(folder.glob("*.parquet")) else None

    @property
    def unassigned(self) -> Path:
        return self.folder / UNASSIGNED


def runs() -> list[Run]:
    """The kept runs with a manifest, newest first."""
    folder = geo_dir() / "runs"
    found = []
    for path in sorted(folder.glob("r*"), reverse=True) if folder.is_dir() else []:
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.append(Run(run_id=path.name, folder=path, manifest=manifest))
    return found


def latest_run() -> Run | None:
    kept = runs()
    return kept[0] if kept else None


def current_index(shapes: GridShapes) -> tuple[Path, float]:
    """The cell index of these grids: kept from an earlier run, else built and kept now."""
    folder = geo_dir() / "index" / (shapes.version or "none")
    delta = saved_delta(folder)
    if delta is not None:
        return folder, delta
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; the others then find it kept
        delta = saved_delta(folder)
        if delta is None:
            index = build_index(shapes)
            save_index(index, folder)
            delta = index.delta
        # The previous grids file's index stays for a run that may still read it.
        older = sorted(p for p in folder.parent.iterdir() if p.is_dir() and p != folder)
        for old in older[:-1]:
            shutil.rmtree(old, ignore_errors=True)
    return folder, delta


def point_table(con: Any, path: Path, kind: PointKind) -> ir.Table:
    """A warehouse table as points (id, lat, lon, grid_id); a version stored before the
    coordinates were in the schema has none (NULL)."""
    table = con.read_parquet(str(path), table_name=f"geo_points_{kind.value}")
    columns = {
        "id": table[POINT_KEYS[kind]].cast("string"),
        "grid_id": table.grid_id.cast("string"),
    }
    for name in ("lat", "lon"):
        present = name in table.columns
        columns[name] = table[name].cast("float64") if present else ibis.null().cast("float64")
    return table.select(**columns)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("r%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]


def assign_all(
    *,
    engine: Engine = Engine.DUCKDB,
    store: Warehouse | None = None,
    say: Callable[[str], Any] | None = None,
    place: bool = True,
) -> Run:
    """Assign the current subscribers, stores and enterprises to grids and keep the result as
    a new run. Where no grid has a boundary every point keeps its imported grid. `place`:
    make the result what every reader of the warehouse sees (channels.geo.placing)."""
    started = time.monotonic()
    store = store or Warehouse()
    shapes = grid_shapes(store)
    run_id = new_run_id()
    runs_dir = geo_dir() / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    staging = runs_dir / f".{run_id}.tmp"
    staging.mkdir()
    sources: dict[str, str] = {}
    index_stats: dict[str, Any] = {}
    con = connect(engine)
    try:
        index = None
        if len(shapes):
            folder, delta = current_index(shapes)
            index = register_index(con, folder, delta=delta)
            index_stats = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["stats"]
        for kind in PointKind:
            path = store.current_file(kind.value)
            if path is None:
                continue
            sources[kind.value] = path.parent.name
            points = point_table(con, path, kind)
            if index is None:
                placed = points.select(
                    "id", grid_id=points.grid_id, how=ibis.literal(How.IMPORTED.value)
                )
            else:

                def keep(table: ir.Table, name: str = f"geo_placed_{kind.value}") -> ir.Table:
                    return materialise(con, engine, {name: table})[name]

                placed = assign_points(points, index=index, keep=keep)
            write_parquet(con, engine, placed, staging / kind.value)
            if say is not None:
                say(f"{kind.value}: {time.monotonic() - started:.1f} s")
        counts = _finish(staging, store=store, sources=sources)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        _close(con, engine)
    folder = runs_dir / run_id
    staging.rename(folder)
    manifest = {
        "run_id": run_id,
        "engine": engine.value,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 3),
        "grids_version": shapes.version,
        "grids_with_boundary": len(shapes),
        "grids_without_boundary": len(shapes.without_boundary),
        "sources": sources,
        "index": index_stats,
        "counts": counts,
    }
    temporary = folder / f".{MANIFEST}.{uuid.uuid4().hex}"
    temporary.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, folder / MANIFEST)
    _prune(runs_dir)
    run = Run(run_id=run_id, folder=folder, manifest=manifest)
    if place:
        placing.place_in_warehouse(run, store=store)
    return run


def _finish(
    staging: Path, *, store: Warehouse, sources: dict[str, str]
) -> dict[str, dict[str, int]]:
    """Counts by kind and how, and the unassigned list (kind, id, imported grid, lat, lon),
    read back from the run's files: whichever engine wrote them."""
    con = duckdb.connect()
    counts: dict[str, dict[str, int]] = {}
    lists = []
    for kind in PointKind:
        if kind.value not in sources:
            continue
        parts = sql_literal(str(staging / kind.value / "*.parquet"))
        counts[kind.value] = {how.value: 0 for how in How} | dict(
            con.sql(f"SELECT how, count(*) FROM read_parquet({parts}) GROUP BY how").fetchall()
        )
        source = store.current_file(kind.value)
        key = POINT_KEYS[kind]
        lists.append(
            f"SELECT {sql_literal(kind.value)} AS kind, a.id, s.grid_id AS imported_grid_id, "
            f"s.lat, s.lon FROM read_parquet({parts}) a JOIN read_parquet("
            f"{sql_literal(str(source))}) s ON CAST(s.{key} AS VARCHAR) = a.id "
            f"WHERE a.how = '{How.UNASSIGNED.value}'"
        )
    empty = (
        "SELECT NULL::VARCHAR AS kind, NULL::VARCHAR AS id, NULL::VARCHAR AS imported_grid_id, "
        "NULL::DOUBLE AS lat, NULL::DOUBLE AS lon WHERE false"
    )
    union = " UNION ALL ".join(lists) or empty
    con.execute(
        f"COPY (SELECT * FROM ({union}) ORDER BY kind, imported_grid_id NULLS FIRST, id) TO "
        f"{sql_literal(str(staging / UNASSIGNED))} (FORMAT parquet, COMPRESSION zstd)"
    )
    return counts


def _close(con: Any, engine: Engine) -> None:
    if engine is Engine.DUCKDB:
        con.disconnect()


def _prune(runs_dir: Path) -> None:
    """Keep the newest RUNS_KEPT runs; remove folders killed runs left (a day old)."""
    kept = [r.folder for r in runs()]
    for old in kept[RUNS_KEPT:]:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in runs_dir.glob(".r*.tmp"):
        if time.time() - leftover.stat().st_mtime > 86_400:
            shutil.rmtree(leftover, ignore_errors=True)
