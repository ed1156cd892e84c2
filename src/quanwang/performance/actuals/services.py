"""Use cases of performance.actuals: one run (responsibilities, then the computation), and the
status the console shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from quanwang.insight.choices import Engine
from quanwang.performance.actuals import attribution, store
from quanwang.performance.actuals.compute import Inputs, compute


def run_actuals(
    *,
    as_of: dt.date | None,
    full: bool,
    engine: Engine,
    snapshot: Any = None,
    synced_on: dt.date | None = None,
    inputs: Inputs | None = None,
) -> dict[str, Any]:
    """Bring the grid and account holders in step (as of today: a holder change is dated when
    it is seen), then compute the actuals. Returns the job's result figures."""
    report = attribution.sync_responsibilities(on=synced_on or timezone.localdate())
    version = compute(as_of=as_of, engine=engine, snapshot=snapshot, full=full, inputs=inputs)
    details = version.details
    recomputed = details.get("recomputed", {})
    return {
        "version": version.version,
        "as_of": version.as_of.isoformat(),
        "rows": int(_rows(version)),
        "full": bool(details.get("full")),
        "recomputed": sum(len(m) for m in recomputed.values()),
        "recomputed_kpis": sorted(recomputed),
        "skipped": details.get("skipped", {}),
        "responsibilities_opened": report.opened,
        "responsibilities_closed": report.closed,
        "timings": details.get("timings", {}),
        "seconds": details.get("timings", {}).get("total", 0),
    }


def _rows(version: store.ActualsVersion) -> int:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    return pq.ParquetFile(version.values_path).metadata.num_rows


@dataclass(frozen=True)
class Status:
    version: store.ActualsVersion | None
    rows: int
    recomputed: dict[str, list[str]]
    skipped: dict[str, list[str]]
    timings: dict[str, float]


def status() -> Status:
    """What the status page shows: the current version, its size, what the last run redid."""
    version = store.current()
    if version is None:
        return Status(version=None, rows=0, recomputed={}, skipped={}, timings={})
    details = version.details
    return Status(
        version=version,
        rows=_rows(version),
        recomputed=dict(details.get("recomputed", {})),
        skipped=dict(details.get("skipped", {})),
        timings=dict(details.get("timings", {})),
    )
