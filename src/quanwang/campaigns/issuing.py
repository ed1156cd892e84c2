"""Issuing a campaign (下发): freeze the audience, split off the control group, split quotas.

The audience is frozen as a Parquet file under var/campaigns/<id>/: who was selected, from
which snapshot, and who is held out as control. Nothing after issuing re-reads the segment.
`snapshot.json` beside it names the snapshot (month and run) the audience came from, so a
later analysis (uplift targeting) can read back the features each customer had then.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings

from quanwang.data.warehouse import sql_literal

# Columns of the snapshot carried into the frozen audience when it has them.
CARRIED = (
    "subscriber_id", "grid_id", "value_tier", "lifecycle_stage", "segment", "payment_type",
    "plan_id", "arpu_3m", "churn_risk", "churn_reasons_zh", "upgrade_5g_propensity",
    "clv_12m", "do_not_disturb", "predicted_uplift",
)  # fmt: skip
SNAPSHOT_RECORD = "snapshot.json"


def campaign_dir(campaign_id: int) -> Path:
    return Path(settings.VAR_DIR) / "campaigns" / str(campaign_id)


@dataclass(frozen=True)
class Frozen:
    path: Path
    customers: int
    control: int
    by_grid: dict[str, tuple[int, int]]  # grid → (treated, control)
    seconds: float


def freeze(
    *,
    selected: duckdb.DuckDBPyRelation,
    columns: list[str],
    target: Path,
    control_share: float,
    seed: int,
) -> Frozen:
    """Write the selected rows with `in_control`: within each stratum (tier × grid), customers
    ordered by a seeded hash, the first `control_share` of them (rounded to the nearest whole
    customer) are held out. The same seed and audience give the same split. A stratum too small
    to hold out one customer (under 5 at 10%) keeps everyone treated."""
    began = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    kept = ", ".join(c for c in CARRIED if c in columns)
    staging = target.with_suffix(f".{os.getpid()}.tmp")
    selected.query(
        "selected",
        f"""COPY (
          SELECT {kept}, position <= round(stratum_size * {control_share:.6f}) AS in_control
          FROM (
            SELECT *, row_number() OVER (
                     PARTITION BY value_tier, grid_id ORDER BY hash({int(seed)}, subscriber_id),
                     subscriber_id) AS position,
                   count(*) OVER (PARTITION BY value_tier, grid_id) AS stratum_size
            FROM selected)
          ORDER BY grid_id, subscriber_id
        ) TO {sql_literal(str(staging))} (FORMAT parquet, COMPRESSION zstd)""",
    )
    staging.replace(target)
    counts = duckdb.execute(
        f"SELECT coalesce(grid_id, ''), count(*) FILTER (WHERE NOT in_control), "
        f"count(*) FILTER (WHERE in_control) FROM read_parquet({sql_literal(str(target))}) "
        "GROUP BY 1"
    ).fetchall()
    by_grid = {str(g): (int(t), int(c)) for g, t, c in counts}
    return Frozen(
        path=target,
        customers=sum(t + c for t, c in by_grid.values()),
        control=sum(c for _t, c in by_grid.values()),
        by_grid=by_grid,
        seconds=time.perf_counter() - began,
    )


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a small record atomically (staged, then renamed): a reader never sees half of it,
    and issuing again replaces it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(f".{os.getpid()}.tmp")
    staging.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    staging.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def record_snapshot(*, campaign_id: int, month: str, run_id: str) -> Path:
    """Name the snapshot an audience was frozen from, next to the audience."""
    target = campaign_dir(campaign_id) / SNAPSHOT_RECORD
    write_json(target, {"month": month, "run_id": run_id})
    return target


def recorded_snapshot(campaign_id: int) -> tuple[str, str] | None:
    """(month, run_id) of the snapshot a campaign was issued on; None for a campaign issued
    before issuing kept the record."""
    data = read_json(campaign_dir(campaign_id) / SNAPSHOT_RECORD)
    if (
        not data
        or not isinstance(data.get("month"), str)
        or not isinstance(data.get("run_id"), str)
    ):
        return None
    return data["month"], data["run_id"]
