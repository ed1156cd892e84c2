"""The scorecards of every grid, worked out once per data version and kept as JSON.

A data version is the current file of each warehouse table the figures read and the newest
insight snapshot (whose scores give the risk mix). `build_scorecards` (the nightly step) works
them out and writes `<VAR_DIR>/scorecards/<version>.json` in one step; the pages read the file
of the current version, parsed once per process (insight.kept_files.KeptJson). Where it is not
there yet (an import since the last night), the first page view builds it under a lock
(build_once), and the views meanwhile read the newest file kept.

The campaign, visit and commission figures live in the operations database: they are read
when the file is built, so the scorecards show them as of the build (T+1, as the nightly
figures of an operator), which the pages say.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from quanwang.channels.scorecards.services.compute import (
    TABLES,
    GridInfo,
    WarehouseFigures,
    compute,
)
from quanwang.channels.scorecards.services.kpis import Measure, add_up
from quanwang.data.warehouse import Warehouse
from quanwang.insight.kept_files import KeptJson, build_once, prune_kept, write_kept
from quanwang.insight.snapshots import Snapshot, SnapshotStore

logger = logging.getLogger(__name__)

# Raised when what the file holds changes: an older file is then rebuilt, never misread.
FORMAT = 1
FOLDER = "scorecards"
KEEP_FILES = 4


@dataclass(frozen=True)
class Scorecards:
    """Every grid's measures by month, as kept."""

    version: str
    built_at: str
    months: list[str]
    risk_month: str | None
    grids: dict[str, GridInfo]
    #: grid_id → month → measure → value.
    figures: dict[str, dict[str, dict[str, float]]]
    #: The files the figures were read from: table → Parquet file, and "wide" → the snapshot's
    #: wide table folder (the drill-down lists the rows of these, so that they match).
    inputs: dict[str, str]

    @property
    def built_at_local(self) -> datetime:
        """When the figures were worked out, in the console's time zone (pages show this)."""
        return timezone.localtime(datetime.fromisoformat(self.built_at))

    def grid_month(self, grid_id: str, month: str) -> dict[str, float]:
        return self.figures.get(grid_id, {}).get(month, {})

    def total(self, grid_ids: Iterable[str], month: str) -> dict[str, float]:
        """The measures of these grids in `month`, added up (ratios come from these sums)."""
        return add_up(self.grid_month(g, month) for g in set(grid_ids))

    def previous(self, month: str) -> str | None:
        index = self.months.index(month) if month in self.months else -1
        return self.months[index - 1] if index > 0 else None

    def county_grids(self, county_code: str) -> list[str]:
        return sorted(g for g, info in self.grids.items() if info.county_code == county_code)

    def manager_grids(self, employee_no: str) -> list[str]:
        return sorted(
            g
            for g, info in self.grids.items()
            if employee_no and info.manager_employee_no == employee_no
        )


def folder() -> Path:
    return Path(settings.VAR_DIR) / FOLDER


def data_version(*, store: Warehouse | None = None, snapshot: Snapshot | None = None) -> str:
    """The name of the current data version: a digest of the warehouse files read and the
    snapshot scored."""
    warehouse = store or Warehouse()
    inputs = {name: str(warehouse.read_file(name) or "") for name in TABLES}
    inputs["snapshot"] = str(snapshot.path) if snapshot is not None else ""
    inputs["format"] = str(FORMAT)
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return digest[:24]


def newest_snapshot() -> Snapshot | None:
    return SnapshotStore().latest()


def build_scorecards(
    *,
    snapshot: Snapshot | None = None,
    store: Warehouse | None = None,
    say: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Work out and keep the scorecards of every grid for the current data version: the
    warehouse's figures in one pass, the campaign, visit and commission figures of each month.
    `snapshot`: the one whose scores give the risk mix (default: the newest). The nightly
    pipeline's step; returns what it kept (grids, months, seconds)."""
    began = time.monotonic()
    warehouse = store or Warehouse()
    chosen = snapshot or newest_snapshot()
    version = data_version(store=warehouse, snapshot=chosen)
    files = {name: warehouse.read_file(name) for name in TABLES}
    wide = (chosen.path / "wide") if chosen is not None else None
    found = compute(files=files, wide=wide, risk_month=chosen.month if chosen else None)
    computed = round(time.monotonic() - began, 3)
    _add_operations_figures(found)
    inputs = {name: str(path) for name, path in files.items() if path is not None}
    if wide is not None and found.risk_month is not None:
        inputs["wide"] = str(wide)
    data = _as_json(found, version=version, inputs=inputs)
    target = _write(version, data)
    _prune()
    seconds = round(time.monotonic() - began, 3)
    if say is not None:
        say(f"{len(found.grids)} grids × {len(found.months)} months: {seconds} s ({target.name})")
    return {
        "grids": len(found.grids),
        "months": len(found.months),
        "warehouse_seconds": computed,
        "seconds": seconds,
    }


def _add_operations_figures(found: WarehouseFigures) -> None:
    """The campaign, visit and commission figures of each month, by grid, from the parts that
    own them (each a stub until its part fills it in)."""
    from quanwang.campaigns.services.channel_figures import figures_by_grid
    from quanwang.channels.commissions.services.by_grid import paid_by_grid
    from quanwang.channels.visits.services.attainment import attainment_by_grid

    for month in found.months:
        for grid, campaign in figures_by_grid(month=month).items():
            _put(found, grid, month, Measure.TARGETED, campaign.targeted)
            _put(found, grid, month, Measure.ACCEPTED, campaign.accepted)
            _put(found, grid, month, Measure.TASKS_TOTAL, campaign.tasks_total)
            _put(found, grid, month, Measure.TASKS_DONE, campaign.tasks_done)
            _put(found, grid, month, Measure.OFFER_COST, float(campaign.offer_cost))
        for grid, visits in attainment_by_grid(month=month).items():
            _put(found, grid, month, Measure.VISITS_DONE, visits.done)
            _put(found, grid, month, Measure.VISITS_PLANNED, visits.planned)
        for grid, paid in paid_by_grid(month=month).items():
            _put(found, grid, month, Measure.COMMISSION, float(paid))


def _put(found: WarehouseFigures, grid: str, month: str, measure: Measure, value: float) -> None:
    # Only grids of the grids table have a scorecard; figures of a grid it no longer lists have
    # no page to show them on.
    if grid not in found.grids:
        return
    into = found.figures.setdefault(grid, {}).setdefault(month, {})
    into[measure.value] = round(float(value), 2) if isinstance(value, float) else value


def _as_json(found: WarehouseFigures, *, version: str, inputs: dict[str, str]) -> dict[str, Any]:
    return {
        "inputs": inputs,
        "format": FORMAT,
        "version": version,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "months": found.months,
        "risk_month": found.risk_month,
        "grids": {
            g: [i.name, i.county_code, i.manager_employee_no]
            for g, i in sorted(found.grids.items())
        },
        "figures": found.figures,
    }


def _write(version: str, data: dict[str, Any]) -> Path:
    return write_kept(folder(), version, data)


def _prune() -> None:
    prune_kept(folder(), keep=KEEP_FILES)


def parse(data: dict[str, Any]) -> Scorecards:
    return Scorecards(
        version=str(data["version"]),
        built_at=str(data["built_at"]),
        months=[str(m) for m in data["months"]],
        risk_month=data.get("risk_month"),
        grids={
            g: GridInfo(grid_id=g, name=row[0], county_code=row[1], manager_employee_no=row[2])
            for g, row in data["grids"].items()
        },
        figures=data["figures"],
        inputs=dict(data.get("inputs", {})),
    )


_kept: KeptJson[Scorecards] = KeptJson(size=4)


def _load(path: Path, *, version: str | None = None) -> Scorecards | None:
    return _kept.load(
        path,
        accept=lambda data: (
            data.get("format") == FORMAT and (version is None or data.get("version") == version)
        ),
        parse=parse,
    )


def current_scorecards() -> Scorecards | None:
    """The scorecards of the current data version, built once by the first caller that finds
    none; while another process builds them, the newest kept ones; None before any."""
    version = data_version(snapshot=newest_snapshot())
    path = folder() / f"{version}.json"

    def existing() -> Scorecards | None:
        return _load(path, version=version)

    def build() -> Scorecards | None:
        build_scorecards()
        return existing()

    folder().mkdir(parents=True, exist_ok=True)
    try:
        found = build_once(lock=folder() / ".build.lock", existing=existing, build=build)
    except Exception:
        # A page must still show the last figures kept; the failure is in the log.
        logger.exception("building the scorecards of version %s failed", version)
        found = None
    return found if found is not None else newest_kept()


def newest_kept() -> Scorecards | None:
    files = sorted(folder().glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for path in files:
        found = _load(path)
        if found is not None:
            return found
    return None
