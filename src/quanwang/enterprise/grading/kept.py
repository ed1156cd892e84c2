"""Account features computed on an engine and kept as Parquet per data version and month.

`compute(month=…, engine=…)` runs the features expression (grading.features) on DuckDB or
Spark over the warehouse's current files and derives switching cost and churn risk
(grading.scoring). The re-grade adds each account's grade and writes
`<VAR_DIR>/enterprise_features/<version>/<month>.parquet` (and `<month>.trend.parquet`, six
months of members and revenue per account) in one step: a temporary file renamed. A data
version is a digest of the warehouse files read, so a new import starts a new folder; the
pages read the current version's file, else the newest kept (the night's, T+1).

`load(month)` gives the kept table and an index by enterprise_id, parsed once per process
and file (the file's modification time tells a rewritten one), so a page's lookup of one
account or a portfolio is a dictionary lookup and a `take`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings

from quanwang.data.arrow import table_schema
from quanwang.data.schema import TABLES as SCHEMA_TABLES
from quanwang.data.warehouse import Warehouse
from quanwang.enterprise.grading.features import (
    FALLBACK_SCHEMAS,
    OPERATIONS_SCHEMA,
    TABLES,
    account_features,
    trend_expr,
)
from quanwang.enterprise.grading.scoring import derive
from quanwang.insight.choices import Engine
from quanwang.insight.months import Month

FORMAT = 1
FOLDER = "enterprise_features"
KEEP_VERSIONS = 3
TREND_SUFFIX = ".trend"


def folder() -> Path:
    return Path(settings.VAR_DIR) / FOLDER


def _known(name: str) -> bool:
    return name in SCHEMA_TABLES


def _file(store: Warehouse, name: str) -> Path | None:
    """The current file of `name`; for a table this warehouse's schema does not know yet (the
    generator's new tables, until they land), one placed the same way by hand."""
    if _known(name):
        return store.read_file(name)
    pointer = store.root / name / "CURRENT"
    if not pointer.exists():
        return None
    found = store.root / name / pointer.read_text(encoding="utf-8").strip() / "data.parquet"
    return found if found.exists() else None


def data_version(store: Warehouse | None = None) -> str:
    warehouse = store or Warehouse()
    inputs = {name: str(_file(warehouse, name) or "") for name in TABLES}
    inputs["format"] = str(FORMAT)
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:24]


def _empty_file(name: str) -> Path:
    """An empty Parquet file of the table's shape, read like a real one on either engine (a
    memtable would not survive materialise's SQL on DuckDB)."""
    schema = table_schema(name) if _known(name) else FALLBACK_SCHEMAS[name].to_pyarrow()
    target = folder() / ".empty" / f"{name}.parquet"
    if not target.exists():
        _write_atomic(schema.empty_table(), target)
    return target


def warehouse_tables(con: Any, store: Warehouse) -> dict[str, ir.Table]:
    """The features' tables as tables of `con`: the current files, an empty typed table for
    one not imported (or not known to this warehouse yet)."""
    tables: dict[str, ir.Table] = {}
    for name in TABLES:
        path = _file(store, name) or _empty_file(name)
        tables[name] = con.read_parquet(str(path), table_name=f"eg_{name}")
    return tables


@dataclass(frozen=True)
class Computed:
    month: Month
    version: str
    features: pa.Table
    trend: pa.Table


def compute(
    *,
    month: Month,
    operations: pa.Table,
    engine: Engine = Engine.DUCKDB,
    store: Warehouse | None = None,
    con: Any = None,
) -> Computed:
    """The month's features of every enterprise, derived, ordered by enterprise_id."""
    from quanwang.insight.engines import connect, materialise

    warehouse = store or Warehouse()
    backend = con if con is not None else connect(engine)
    tables = warehouse_tables(backend, warehouse)
    ops = ibis.memtable(operations.cast(OPERATIONS_SCHEMA.to_pyarrow()))
    # The members' revenue per account and month, computed once for the features and the
    # trend: a temporary table on DuckDB, a cached DataFrame on Spark.
    monthly = materialise(backend, engine, {"eg_monthly": trend_expr(tables, month=month)})[
        "eg_monthly"
    ]
    expr = account_features(tables, month=month, operations=ops, monthly=monthly)
    raw = backend.to_pyarrow(expr).sort_by("enterprise_id")
    trend = backend.to_pyarrow(monthly).sort_by(
        [("enterprise_id", "ascending"), ("month", "ascending")]
    )
    return Computed(
        month=month,
        version=data_version(warehouse),
        features=derive(raw, month=month),
        trend=trend,
    )


def _write_atomic(table: pa.Table, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    pq.write_table(table, temporary, compression="zstd")
    os.replace(temporary, target)


def keep(computed: Computed, features: pa.Table) -> Path:
    """Write the month's (graded) features and trend of the version, then prune old versions."""
    directory = folder() / computed.version
    target = directory / f"{computed.month}.parquet"
    _write_atomic(computed.trend, directory / f"{computed.month}{TREND_SUFFIX}.parquet")
    _write_atomic(features, target)
    (directory / "built").touch()
    prune(keep=KEEP_VERSIONS)
    return target


def prune(*, keep: int) -> None:
    """Remove all version folders but the `keep` most recently built."""
    if not folder().exists():
        return
    versions = [p for p in folder().iterdir() if p.is_dir() and not p.name.startswith(".")]
    versions.sort(key=lambda p: _built_at(p), reverse=True)
    for old in versions[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _built_at(directory: Path) -> int:
    try:
        return (directory / "built").stat().st_mtime_ns
    except OSError:
        return 0


def kept_path(month: str | None = None) -> Path | None:
    """The kept file of `month` (None: the newest month) of the current data version, else of
    the most recently built version that has it."""
    if not folder().exists():
        return None
    current = folder() / data_version()
    others = sorted(
        (
            p
            for p in folder().iterdir()
            if p.is_dir() and p != current and not p.name.startswith(".")
        ),
        key=_built_at,
        reverse=True,
    )
    for directory in [current, *others]:
        if not directory.is_dir():
            continue
        if month is not None:
            path = directory / f"{month}.parquet"
            if path.exists():
                return path
            continue
        months = sorted(p for p in directory.glob("*.parquet") if not p.stem.endswith(TREND_SUFFIX))
        if months:
            return months[-1]
    return None


@dataclass(frozen=True)
class Kept:
    month: str
    table: pa.Table
    index: dict[str, int]
    path: Path

    def rows(self, enterprise_ids: list[str]) -> list[dict[str, Any]]:
        positions = [self.index[e] for e in enterprise_ids if e in self.index]
        if not positions:
            return []
        return list(self.table.take(pa.array(positions, pa.int64())).to_pylist())

    def trend(self, enterprise_id: str) -> list[dict[str, Any]]:
        path = self.path.with_name(f"{self.month}{TREND_SUFFIX}.parquet")
        try:
            found = pq.read_table(path, filters=[("enterprise_id", "=", enterprise_id)])
        except (OSError, pa.ArrowInvalid):
            return []
        return list(found.sort_by("month").to_pylist())


_cache: dict[str, tuple[int, Kept]] = {}
_lock = threading.Lock()
CACHE_FILES = 3


def load(month: str | None = None) -> Kept | None:
    """The kept features of `month` (None: the newest), parsed once per process and file."""
    path = kept_path(month)
    if path is None:
        return None
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    with _lock:
        hit = _cache.get(str(path))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid):
        return None
    ids = table.column("enterprise_id").to_pylist()
    kept = Kept(
        month=path.stem,
        table=table,
        index={e: i for i, e in enumerate(ids)},
        path=path,
    )
    with _lock:
        while len(_cache) >= CACHE_FILES:
            del _cache[next(iter(_cache))]
        _cache[str(path)] = (stamp, kept)
    return kept


def newest_usage_month(store: Warehouse | None = None) -> str | None:
    """The newest month of the warehouse's monthly_usage, or None before any."""
    import duckdb

    warehouse = store or Warehouse()
    if warehouse.read_file("monthly_usage") is None:
        return None
    con = duckdb.connect()
    try:
        row = con.execute(
            f"SELECT max(month) FROM {warehouse.relation('monthly_usage')}"
        ).fetchone()
    finally:
        con.close()
    return str(row[0]) if row and row[0] else None


def usage_months(store: Warehouse | None = None, *, limit: int = 6) -> list[str]:
    import duckdb

    warehouse = store or Warehouse()
    if warehouse.read_file("monthly_usage") is None:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT DISTINCT month FROM {warehouse.relation('monthly_usage')} "
            f"ORDER BY month DESC LIMIT {int(limit)}"
        ).fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]
