"""The funnel of every store and grid, worked out once per data version and kept as JSON.

A data version is the current file of store_traffic and of stores in the warehouse.
`build_funnel` (the nightly step) works the funnel out and writes
`<VAR_DIR>/funnel/<version>.json` in one step; the pages read the file of the current version,
parsed once per process (insight.kept_files.KeptJson). Where it is not there yet (an import
since the last night), the first page view builds it under a lock (build_once), and the pages
meanwhile read the newest file kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from quanwang.channels.funnel.services.compute import TABLES, FunnelFigures, compute
from quanwang.channels.funnel.services.decompose import FACTORS, Counts, Factor
from quanwang.data.warehouse import Warehouse
from quanwang.insight.kept_files import KeptJson, build_once, prune_kept, write_kept

logger = logging.getLogger(__name__)

# Raised when what the file holds changes: an older file is then rebuilt, never misread.
FORMAT = 1
FOLDER = "funnel"
KEEP_FILES = 4
_COUNT_FIELDS = 8

Entry = tuple[Counts, dict[Factor, int] | None]


@dataclass(frozen=True)
class Funnels:
    """Every store's and grid's funnel by month, as kept."""

    version: str
    built_at: str
    months: list[str]
    #: store_id or grid_id → month → [8 counts] or [8 counts + 6 contributions].
    stores: dict[str, dict[str, list[int]]]
    grids: dict[str, dict[str, list[int]]]
    store_grid: dict[str, str]

    def store(self, store_id: str, month: str) -> Entry | None:
        return _entry(self.stores.get(store_id, {}).get(month))

    def grid(self, grid_id: str, month: str) -> Entry | None:
        return _entry(self.grids.get(grid_id, {}).get(month))

    def previous(self, month: str) -> str | None:
        index = self.months.index(month) if month in self.months else -1
        return self.months[index - 1] if index > 0 else None

    def newest_month(self, months: dict[str, list[int]]) -> str | None:
        held = [m for m in self.months if m in months]
        return held[-1] if held else None


def _entry(row: list[int] | None) -> Entry | None:
    if row is None:
        return None
    counts = Counts(*row[:_COUNT_FIELDS])
    if len(row) == _COUNT_FIELDS:
        return counts, None
    return counts, dict(zip(FACTORS, row[_COUNT_FIELDS:], strict=True))


def folder() -> Path:
    return Path(settings.VAR_DIR) / FOLDER


def data_version(*, store: Warehouse | None = None) -> str:
    """The name of the current data version: a digest of the warehouse files read."""
    warehouse = store or Warehouse()
    inputs = {name: str(warehouse.read_file(name) or "") for name in TABLES}
    inputs["format"] = str(FORMAT)
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return digest[:24]


def build_funnel(
    *, store: Warehouse | None = None, say: Callable[[str], Any] | None = None
) -> dict[str, Any]:
    """Work out and keep the funnel of every store and grid for the current data version.
    The nightly pipeline's step; returns what it kept (stores, grids, months, seconds)."""
    began = time.monotonic()
    warehouse = store or Warehouse()
    version = data_version(store=warehouse)
    found = compute(files={name: warehouse.read_file(name) for name in TABLES})
    target = _write(version, _as_json(found, version=version))
    _prune()
    seconds = round(time.monotonic() - began, 3)
    if say is not None:
        say(
            f"{len(found.stores)} stores, {len(found.grids)} grids × {len(found.months)} "
            f"months: {seconds} s ({target.name})"
        )
    return {
        "stores": len(found.stores),
        "grids": len(found.grids),
        "months": len(found.months),
        "seconds": seconds,
    }


def _flat(entries: dict[str, dict[str, tuple[list[int], list[int] | None]]]) -> dict[str, Any]:
    return {
        key: {month: counts + (parts or []) for month, (counts, parts) in sorted(by_month.items())}
        for key, by_month in sorted(entries.items())
    }


def _as_json(found: FunnelFigures, *, version: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": version,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "months": found.months,
        "factors": [f.value for f in FACTORS],
        "stores": _flat(found.stores),
        "grids": _flat(found.grids),
        "store_grid": dict(sorted(found.store_grid.items())),
    }


def _write(version: str, data: dict[str, Any]) -> Path:
    return write_kept(folder(), version, data)


def _prune() -> None:
    prune_kept(folder(), keep=KEEP_FILES)


def parse(data: dict[str, Any]) -> Funnels:
    return Funnels(
        version=str(data["version"]),
        built_at=str(data["built_at"]),
        months=[str(m) for m in data["months"]],
        stores=data["stores"],
        grids=data["grids"],
        store_grid=data.get("store_grid", {}),
    )


_kept: KeptJson[Funnels] = KeptJson(size=4)


def _load(path: Path, *, version: str | None = None) -> Funnels | None:
    return _kept.load(
        path,
        accept=lambda data: (
            data.get("format") == FORMAT
            and data.get("factors") == [f.value for f in FACTORS]
            and (version is None or data.get("version") == version)
        ),
        parse=parse,
    )


def current_funnels() -> Funnels | None:
    """The funnels of the current data version, built once by the first caller that finds
    none; while another process builds them, the newest kept ones; None before any."""
    version = data_version()
    path = folder() / f"{version}.json"

    def existing() -> Funnels | None:
        return _load(path, version=version)

    def build() -> Funnels | None:
        build_funnel()
        return existing()

    try:
        folder().mkdir(parents=True, exist_ok=True)
        found = build_once(lock=folder() / ".build.lock", existing=existing, build=build)
    except Exception:
        # A page must still show the last figures kept; the failure is in the log.
        logger.exception("building the funnel of version %s failed", version)
        found = None
    return found if found is not None else newest_kept()


def newest_kept() -> Funnels | None:
    if not folder().is_dir():
        return None
    files = sorted(folder().glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for path in files:
        found = _load(path)
        if found is not None:
            return found
    return None
