"""Issuing a campaign (下发): freeze the audience, split off the control group, split quotas.

The audience is frozen as a Parquet file under var/campaigns/<id>/: who was selected, from
which snapshot, and who is held out as control. Nothing after issuing re-reads the segment.
`snapshot.json` beside it names the snapshot (month and run) the audience came from, so a
later analysis (uplift targeting) can read back the features each customer had then.

A campaign split by account manager (TaskSplit.ACCOUNT_MANAGER) freezes each enterprise
customer's account manager with them (`account_manager`, an employee number, from the
warehouse's enterprises), so their tasks and quota are that manager's from then on.

Quotas (`split_quotas`) are set per grid, or per county for a campaign split by county
(TaskSplit.COUNTY: the county manager shares theirs out), and per account manager; the
levels above add up the levels below (services.progress.progress_tree).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings

from quanwang.campaigns.choices import TaskSplit
from quanwang.campaigns.models import Campaign, Quota
from quanwang.core.choices import OrgLevel
from quanwang.core.models import OrgUnit, Staff
from quanwang.data.warehouse import Warehouse, sql_literal

# Columns of the snapshot carried into the frozen audience when it has them.
CARRIED = (
    "subscriber_id", "grid_id", "value_tier", "lifecycle_stage", "segment", "payment_type",
    "plan_id", "arpu_3m", "churn_risk", "churn_reasons_zh", "upgrade_5g_propensity",
    "clv_12m", "do_not_disturb", "predicted_uplift", "account_manager",
)  # fmt: skip
#: The frozen audience's column naming a customer's account manager (an employee number).
ACCOUNT_MANAGER = "account_manager"
#: enterprises' column naming the account manager who serves the enterprise.
ENTERPRISE_MANAGER = "account_manager_employee_no"
ASSIGNMENT_SCHEMA = pa.schema([("subscriber_id", pa.string()), (ACCOUNT_MANAGER, pa.string())])
SNAPSHOT_RECORD = "snapshot.json"


def campaign_dir(campaign_id: int) -> Path:
    return Path(settings.VAR_DIR) / "campaigns" / str(campaign_id)


@dataclass(frozen=True)
class Frozen:
    path: Path
    customers: int
    control: int
    #: grid → (treated, control), of the customers without an account manager.
    by_grid: dict[str, tuple[int, int]]
    seconds: float
    #: account manager's employee number → (treated, control), of their customers.
    by_account_manager: dict[str, tuple[int, int]] = field(default_factory=dict)


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
    manager = ACCOUNT_MANAGER if ACCOUNT_MANAGER in columns else "CAST(NULL AS VARCHAR)"
    counts = duckdb.execute(
        f"SELECT coalesce(grid_id, ''), {manager}, count(*) FILTER (WHERE NOT in_control), "
        f"count(*) FILTER (WHERE in_control) FROM read_parquet({sql_literal(str(target))}) "
        "GROUP BY 1, 2"
    ).fetchall()
    by_grid: dict[str, tuple[int, int]] = {}
    by_manager: dict[str, tuple[int, int]] = {}
    for grid, employee_no, treated, control in counts:
        tally = by_grid if employee_no is None else by_manager
        key = str(grid if employee_no is None else employee_no)
        before = tally.get(key, (0, 0))
        tally[key] = (before[0] + int(treated), before[1] + int(control))
    everyone = [*by_grid.values(), *by_manager.values()]
    return Frozen(
        path=target,
        customers=sum(t + c for t, c in everyone),
        control=sum(c for _t, c in everyone),
        by_grid=by_grid,
        seconds=time.perf_counter() - began,
        by_account_manager=by_manager,
    )


def _columns(relation: str) -> set[str]:
    probe = duckdb.sql(f"SELECT * FROM {relation} LIMIT 0")
    assert probe is not None  # a SELECT always gives a relation
    return set(probe.columns)


def account_manager_assignments(*, employee_numbers: list[str]) -> pa.Table:
    """(subscriber_id, account_manager) of every enterprise customer whose enterprise has an
    account manager among `employee_numbers` (the staff who may take the campaign's tasks).

    A customer's enterprises are subscribers.enterprise_id and their enterprise_members rows;
    of several with such a manager, the one of subscribers.enterprise_id comes first, then
    the lowest enterprise_id. Empty when no enterprise has one, or when the enterprises table
    was stored before the column existed."""
    store = Warehouse()
    enterprises = store.relation("enterprises")
    if not employee_numbers or ENTERPRISE_MANAGER not in _columns(enterprises):
        return ASSIGNMENT_SCHEMA.empty_table()
    con = duckdb.connect()
    try:
        con.register("eligible", pa.table({"employee_no": pa.array(employee_numbers, pa.string())}))
        assigned = con.sql(
            f"""SELECT subscriber_id, {ENTERPRISE_MANAGER} AS {ACCOUNT_MANAGER}
                FROM (SELECT subscriber_id, enterprise_id, 0 AS rank
                      FROM {store.relation("subscribers")} WHERE enterprise_id IS NOT NULL
                      UNION ALL
                      SELECT subscriber_id, enterprise_id, 1 AS rank
                      FROM {store.relation("enterprise_members")}) m
                JOIN {enterprises} e USING (enterprise_id)
                JOIN eligible ON eligible.employee_no = e.{ENTERPRISE_MANAGER}
                QUALIFY row_number() OVER (PARTITION BY subscriber_id
                                           ORDER BY rank, enterprise_id) = 1
                ORDER BY subscriber_id"""
        )
        return assigned.to_arrow_table().cast(ASSIGNMENT_SCHEMA)
    finally:
        con.close()


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


def _quota_units(*, campaign: Campaign, grids: list[str]) -> dict[str, OrgUnit]:
    """grid code → the unit that holds the quota of its customers: the grid itself, or for a
    campaign split by county the county above it (within the campaign's unit; a grid with no
    such county keeps its own quota). Grids outside the campaign's org tree hold none."""
    units = {
        u.code: u
        for u in OrgUnit.objects.filter(
            path__startswith=campaign.org_unit.path, level=OrgLevel.GRID, code__in=grids
        )
    }
    if campaign.task_split != TaskSplit.COUNTY:
        return units
    counties = list(
        OrgUnit.objects.filter(path__startswith=campaign.org_unit.path, level=OrgLevel.COUNTY)
    )
    holders = {}
    for code, grid in units.items():
        above = [c for c in counties if grid.path.startswith(c.path)]
        # The nearest county (the longest path), should counties ever nest.
        holders[code] = max(above, key=lambda c: len(c.path)) if above else grid
    return holders


def split_quotas(
    *, campaign: Campaign, frozen: Frozen, take_rate: float, managers: Mapping[str, Staff]
) -> list[Quota]:
    """Replace the campaign's quotas: the treated customers of no account manager by the unit
    that holds their grid's quota (`_quota_units`), each account manager's at their own org
    unit, each asking for `take_rate` of its customers (rounded up). The caller's transaction
    holds the campaign."""
    holders = _quota_units(campaign=campaign, grids=sorted(frozen.by_grid))
    treated_by_unit: dict[int, tuple[OrgUnit, int]] = {}
    for grid, (treated, _control) in sorted(frozen.by_grid.items()):
        unit = holders.get(grid)
        if unit is None or treated == 0:
            continue
        before = treated_by_unit.get(unit.pk, (unit, 0))[1]
        treated_by_unit[unit.pk] = (unit, before + treated)
    quotas = [
        Quota(
            campaign=campaign,
            org_unit=unit,
            audience=treated,
            target=math.ceil(treated * take_rate),
            deadline=campaign.ends_on,
        )
        for unit, treated in sorted(treated_by_unit.values(), key=lambda held: held[0].path)
    ] + [
        # An account manager's quota: their treated customers, at their own org unit.
        Quota(
            campaign=campaign,
            org_unit=managers[employee_no].org_unit,
            account_manager=managers[employee_no],
            audience=treated,
            target=math.ceil(treated * take_rate),
            deadline=campaign.ends_on,
        )
        for employee_no, (treated, _control) in sorted(frozen.by_account_manager.items())
        if employee_no in managers and treated > 0
    ]
    Quota.objects.filter(campaign=campaign).delete()
    return Quota.objects.bulk_create(quotas)
