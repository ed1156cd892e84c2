"""Reading the current actuals: one figure, or every key's figure of a KPI, grain and period.

Pages read a version's values through an in-process DuckDB query on its Parquet file (no lock:
versions are immutable), cached per version, KPI, grain and period.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from quanwang.performance.actuals.store import ActualsVersion, current
from quanwang.performance.choices import Grain


@dataclass(frozen=True)
class Figure:
    kpi: str
    grain: Grain
    key: str
    org_unit: str
    period: str
    numerator: float
    denominator: float | None
    value: float | None


_CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, str, str, str], dict[str, Figure]] = OrderedDict()
_lock = threading.Lock()


def business_day() -> dt.date | None:
    """The day the current actuals run to (None before the first computation)."""
    version = current()
    return version.as_of if version else None


def figures(
    *,
    kpi: str,
    grain: Grain | str,
    period: str,
    keys: Iterable[str] | None = None,
    version: ActualsVersion | None = None,
) -> dict[str, Figure]:
    """key → Figure of `kpi` at `grain` over `period` (only `keys` when given)."""
    version = version or current()
    if version is None:
        return {}
    grain = Grain(grain)
    cache_key = (version.version, kpi, grain.value, period)
    with _lock:
        found = _cache.get(cache_key)
        if found is not None:
            _cache.move_to_end(cache_key)
    if found is None:
        found = _read(version, kpi=kpi, grain=grain, period=period)
        with _lock:
            _cache[cache_key] = found
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    if keys is None:
        return found
    return {k: found[k] for k in keys if k in found}


def figure(
    *, kpi: str, grain: Grain | str, key: str, period: str, version: ActualsVersion | None = None
) -> Figure | None:
    return figures(kpi=kpi, grain=grain, period=period, keys=[key], version=version).get(key)


def _read(version: ActualsVersion, *, kpi: str, grain: Grain, period: str) -> dict[str, Figure]:
    connection = duckdb.connect()
    try:
        rows = connection.execute(
            "select key, org_unit, numerator, denominator, value from read_parquet(?) "
            "where kpi = ? and grain = ? and period = ?",
            [str(version.values_path), kpi, grain.value, period],
        ).fetchall()
    finally:
        connection.close()
    return {
        key: Figure(
            kpi=kpi,
            grain=grain,
            key=key,
            org_unit=org_unit,
            period=period,
            numerator=numerator,
            denominator=denominator,
            value=value,
        )
        for key, org_unit, numerator, denominator, value in rows
    }
