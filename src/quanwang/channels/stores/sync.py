"""Keeping the store file (channels.models.Store) in step with the warehouse's `stores` table.

`sync_stores()` runs after each import of the stores table (data.job_handlers), in the nightly
pipeline (channels.stores.job_handlers) and in the demo. It is idempotent: a second run with
the same warehouse changes nothing. A store the warehouse no longer lists becomes inactive,
never deleted (its visits, grades and statements keep pointing at it); listed again, it is
active again.

Each store's org unit is the one scoping reads: its grid's unit, else the nearest unit above
it, else the root of the org tree (data.grid_units, shared with the account file).

What the console decides wins over the file: a partner stage changed in the console is not
overwritten by a later import, and a grade computed by the monthly grading is not replaced by
the file's grade column (it only seeds a store never graded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.channels.choices import PartnerStage, StageSource, StoreGrade, StoreType
from quanwang.channels.models import StageChange, Store, StoreGrading
from quanwang.core.errors import ServiceError
from quanwang.data.grid_units import GridUnits, read_grid_parents
from quanwang.data.warehouse import Warehouse

# The Store fields the warehouse decides (besides the org unit and `active`).
SYNCED_FIELDS = (
    "name",
    "store_type",
    "grid_id",
    "lat",
    "lon",
    "owner_name",
    "contact_msisdn",
    "opened_date",
)
IMPORTED_STAGE_REASON = "imported"


@dataclass(frozen=True)
class SyncReport:
    listed: int
    created: int
    updated: int
    unchanged: int
    deactivated: int
    reactivated: int

    def as_result(self) -> dict[str, int]:
        return asdict(self)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.sql(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _read_warehouse(
    store: Warehouse,
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
    """The stores table's rows, each grid's county and each org unit's parent code."""
    con = duckdb.connect()
    try:
        stores = _rows(
            con,
            "SELECT store_id, name, store_type, grade, lat, lon, grid_id, owner_name, "
            f"contact_msisdn, partner_stage, opened_date FROM {store.relation('stores')} "
            "ORDER BY store_id",
        )
        counties, parents = read_grid_parents(con, store)
    finally:
        con.close()
    return stores, counties, parents


def _wanted(row: Mapping[str, Any]) -> dict[str, Any]:
    opened = row["opened_date"]
    return {
        "name": row["name"] or "",
        "store_type": row["store_type"] or StoreType.PARTNER,
        "grid_id": row["grid_id"] or "",
        "lat": row["lat"],
        "lon": row["lon"],
        "owner_name": row["owner_name"] or "",
        "contact_msisdn": row["contact_msisdn"] or "",
        "opened_date": opened if isinstance(opened, dt.date) or opened is None else opened.date(),
    }


def sync_stores(*, warehouse: Warehouse | None = None) -> SyncReport:
    """Bring the store file in line with the warehouse's stores table (see the module's doc)."""
    rows, counties, parents = _read_warehouse(warehouse or Warehouse())
    finder = GridUnits(
        counties=counties,
        parents=parents,
        empty_tree=_("The org tree is empty: import the org units before the stores."),
    )
    now = timezone.now()
    created = updated = unchanged = reactivated = 0
    with transaction.atomic():
        existing = {s.store_id: s for s in Store.objects.select_for_update().order_by("store_id")}
        console_stage = set(
            StageChange.objects.filter(source=StageSource.CONSOLE).values_list(
                "store__store_id", flat=True
            )
        )
        graded = set(StoreGrading.objects.values_list("store__store_id", flat=True).distinct())
        new_stores: list[Store] = []
        changed: list[Store] = []
        imported_stages: list[tuple[Store, str, str]] = []
        for row in rows:
            wanted = _wanted(row)
            unit = finder.unit_for(row["grid_id"])
            stage = row["partner_stage"] if row["partner_stage"] in PartnerStage.values else ""
            grade = row["grade"] if row["grade"] in StoreGrade.values else ""
            store = existing.get(row["store_id"])
            if store is None:
                store = Store(
                    store_id=row["store_id"],
                    org_unit=unit,
                    partner_stage=stage,
                    grade=grade,
                    active=True,
                    synced_at=now,
                    **wanted,
                )
                new_stores.append(store)
                if stage:
                    imported_stages.append((store, "", stage))
                continue
            dirty = [f for f, v in wanted.items() if getattr(store, f) != v]
            for field in dirty:
                setattr(store, field, wanted[field])
            if store.org_unit_id != unit.pk:
                store.org_unit = unit
                dirty.append("org_unit")
            if not store.active:
                store.active = True
                dirty.append("active")
                reactivated += 1
            if stage and stage != store.partner_stage and row["store_id"] not in console_stage:
                imported_stages.append((store, store.partner_stage, stage))
                store.partner_stage = stage
                dirty.append("partner_stage")
            if grade and not store.grade and row["store_id"] not in graded:
                store.grade = grade
                dirty.append("grade")
            if dirty:
                store.synced_at = now
                changed.append(store)
            else:
                unchanged += 1
        Store.objects.bulk_create(new_stores, batch_size=1000)
        created = len(new_stores)
        if changed:
            Store.objects.bulk_update(
                changed,
                [*SYNCED_FIELDS, "org_unit", "active", "partner_stage", "grade", "synced_at"],
                batch_size=1000,
            )
        updated = len(changed) - reactivated
        listed = {r["store_id"] for r in rows}
        gone = [s.pk for sid, s in existing.items() if s.active and sid not in listed]
        deactivated = Store.objects.filter(pk__in=gone).update(active=False, synced_at=now)
        StageChange.objects.bulk_create(
            [
                StageChange(
                    store=store,
                    from_stage=before,
                    to_stage=after,
                    reason=IMPORTED_STAGE_REASON,
                    source=StageSource.IMPORT,
                )
                for store, before, after in imported_stages
            ],
            batch_size=1000,
        )
    return SyncReport(
        listed=len(rows),
        created=created,
        updated=updated,
        unchanged=unchanged,
        deactivated=deactivated,
        reactivated=reactivated,
    )


def sync_after_import(*, warehouse: Warehouse | None = None) -> dict[str, str]:
    """The sync run by the importer once the stores table is loaded (data.job_handlers), for
    the import job's result: what it changed, or why it could not run. The import itself
    stands either way; `quanwang sync-stores` or the nightly pipeline catch up."""
    try:
        report = sync_stores(warehouse=warehouse)
    except ServiceError as exc:
        return {"store_file": str(exc.message)}
    return {
        "store_file": _(
            "%(listed)d stores listed: %(created)d new, %(updated)d changed, %(unchanged)d "
            "unchanged, %(deactivated)d no longer listed, %(reactivated)d listed again."
        )
        % report.as_result()
    }
