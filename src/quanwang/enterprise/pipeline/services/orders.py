"""Service requests and orders (业务受理/订单) from the CRM, kept in step with the warehouse.

The CRM exports go through the importer into the warehouse's `enterprise_orders` table (its
columns and codes are checked there: data.schema). After each import (data.after_import) and
in the nightly pipeline, `sync_orders()` copies the table into EnterpriseOrder.

Why a copy and not a warehouse read on the account page: the 360 page must answer under
200 ms with 100,000 accounts, and a Parquet table has no index — reading one account's orders
scans the whole file (tens of ms at a few million orders, more while the nightly runs), and
every section of the page adds up. The copy is read by index (account, open, created), in
about a millisecond, and is scoped by the account like the rest of the page. The copy is the
warehouse's: rows the table no longer lists are removed, and nothing else writes to it.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.data.warehouse import Warehouse
from quanwang.enterprise.choices import AccountStatus
from quanwang.enterprise.models import Account, EnterpriseOrder
from quanwang.enterprise.pipeline.choices import OPEN_ORDER_STATUSES

TABLE = "enterprise_orders"
BATCH = 5_000
FIELDS = (
    "enterprise_id",
    "account_id",
    "product",
    "kind",
    "status",
    "is_open",
    "created_date",
    "closed_date",
    "amount_fen",
)


@dataclass(frozen=True)
class OrderSync:
    listed: int
    created: int
    updated: int
    removed: int
    unlinked: int
    seconds: float

    def as_result(self) -> dict[str, Any]:
        return asdict(self)


def _account_ids() -> dict[str, int]:
    """enterprise_id → the account its orders show on: a merged account's survivor."""
    rows = Account.objects.values_list("enterprise_id", "pk", "status", "merged_into_id")
    return {
        eid: (into if status == AccountStatus.MERGED and into else pk)
        for eid, pk, status, into in rows
    }


def _warehouse_rows(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        return con.sql(
            "SELECT order_id, enterprise_id, coalesce(product, ''), coalesce(kind, ''), status, "
            "created_date, closed_date, "
            "CAST(round(coalesce(amount, 0) * 100) AS BIGINT) "
            f"FROM {warehouse.relation(TABLE)} ORDER BY order_id"
        ).fetchall()
    finally:
        con.close()


def sync_orders(*, warehouse: Warehouse | None = None) -> OrderSync:
    """Copy the warehouse's orders into EnterpriseOrder; idempotent."""
    began = time.monotonic()
    store = warehouse or Warehouse()
    if store.read_file(TABLE) is None:
        # Never imported: nothing to copy, and nothing to remove (the demo's own rows stay).
        return OrderSync(0, 0, 0, 0, 0, round(time.monotonic() - began, 3))
    rows = _warehouse_rows(store)
    accounts = _account_ids()
    existing = {
        row[0]: row[1:]
        for row in EnterpriseOrder.objects.values_list("order_id", "pk", *FIELDS).iterator(
            chunk_size=BATCH
        )
    }
    new: list[EnterpriseOrder] = []
    changed: list[EnterpriseOrder] = []
    unlinked = 0
    for order_id, eid, product, kind, status, created, closed, amount in rows:
        account_id = accounts.get(eid)
        unlinked += account_id is None
        values = (
            eid,
            account_id,
            product,
            kind,
            status,
            status in OPEN_ORDER_STATUSES,
            created,
            closed,
            int(amount),
        )
        before = existing.pop(order_id, None)
        if before is None:
            new.append(EnterpriseOrder(order_id=order_id, **dict(zip(FIELDS, values, strict=True))))
        elif tuple(before[1:]) != values:
            changed.append(
                EnterpriseOrder(
                    pk=before[0], order_id=order_id, **dict(zip(FIELDS, values, strict=True))
                )
            )
    gone = [found[0] for found in existing.values()]
    with transaction.atomic():
        EnterpriseOrder.objects.bulk_create(new, batch_size=BATCH)
        EnterpriseOrder.objects.bulk_update(changed, FIELDS, batch_size=BATCH)
        for start in range(0, len(gone), BATCH):
            EnterpriseOrder.objects.filter(pk__in=gone[start : start + BATCH]).delete()
    return OrderSync(
        listed=len(rows),
        created=len(new),
        updated=len(changed),
        removed=len(gone),
        unlinked=unlinked,
        seconds=round(time.monotonic() - began, 3),
    )


def sync_after_import() -> dict[str, str]:
    """For the import job's result: what the sync changed (the import stands either way)."""
    report = sync_orders()
    return {
        "enterprise_orders": _(
            "%(listed)d orders listed: %(created)d new, %(updated)d changed, %(removed)d "
            "removed, %(unlinked)d for enterprises without an account yet."
        )
        % report.as_result()
    }


def relink_orders() -> int:
    """Link the orders of enterprises whose account arrived after them (after the account
    sync); returns how many were linked."""
    accounts = _account_ids()
    linked = 0
    waiting = EnterpriseOrder.objects.filter(account__isnull=True).values_list(
        "pk", "enterprise_id"
    )
    by_account: dict[int, list[int]] = {}
    for pk, eid in waiting.iterator(chunk_size=BATCH):
        if eid in accounts:
            by_account.setdefault(accounts[eid], []).append(pk)
    for account_id, pks in by_account.items():
        linked += EnterpriseOrder.objects.filter(pk__in=pks).update(account_id=account_id)
    return linked


def account_orders(*, user: Any, account: Account, limit: int = 20) -> QuerySet[EnterpriseOrder]:
    """The account's orders `user` may view: open ones first, oldest open first (the most
    overdue on top), then the latest closed."""
    keys = EnterpriseOrder.objects.restrict(user, Action.VIEW).filter(account=account)
    return EnterpriseOrder.objects.filter(pk__in=keys.values("pk")).order_by(
        "-is_open", "created_date", "order_id"
    )[:limit]


def open_order_ages(
    *, orders: list[EnterpriseOrder], today: dt.date
) -> list[tuple[EnterpriseOrder, int]]:
    return [(order, order.age_days(today=today)) for order in orders]
