"""Reading the warehouse's facts for commissions: the sale lines (channel_sales), the lines'
churn dates (subscribers) and revenue (monthly_usage), and the store types of the store file.

Every reader opens its own DuckDB connection over the tables' current files
(data.warehouse); the statement run reads them once, in one pass (services.compute).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from quanwang.channels.commissions.services.coverage import RuleWindow
from quanwang.channels.models import Store
from quanwang.data.warehouse import Warehouse, sql_literal

SALE = "销售"
CANCEL_KINDS = ("退款", "冲正")
FAR_FUTURE = dt.date(9999, 12, 31)
#: At most this many sold-without-rule groups are named.
MAX_NAMED = 10


def store_types() -> pa.Table:
    """store_id → store_type of every store in the store file."""
    rows = list(Store.objects.order_by("store_id").values_list("store_id", "store_type"))
    return pa.table(
        {
            "store_id": pa.array([r[0] for r in rows], pa.string()),
            "store_type": pa.array([r[1] for r in rows], pa.string()),
        }
    )


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.sql(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def unruled_sales(
    *,
    windows: Sequence[RuleWindow],
    start: dt.date,
    end: dt.date | None,
    warehouse: Warehouse | None = None,
) -> list[str]:
    """The sales in the warehouse from `start` to `end` that no window's rule would pay, by
    product, store type and plan, as gap messages (the first MAX_NAMED groups)."""
    store = warehouse or Warehouse()
    con = duckdb.connect()
    try:
        con.register("store_types", store_types())
        con.register(
            "windows",
            pa.table(
                {
                    "product": [w.product for w in windows],
                    "plan_id": [w.plan_id or None for w in windows],
                    "store_type": [w.store_type or None for w in windows],
                    "w_start": pa.array([w.start for w in windows], pa.date32()),
                    "w_end": pa.array([w.end or FAR_FUTURE for w in windows], pa.date32()),
                }
            ),
        )
        last = end or FAR_FUTURE
        found = rows(
            con,
            f"""
            SELECT s.product, t.store_type, s.plan_id, min(s.sale_date) AS first_day,
                   max(s.sale_date) AS last_day, count(*) AS sales
            FROM {store.relation("channel_sales")} s
            JOIN store_types t USING (store_id)
            WHERE s.kind = {sql_literal(SALE)}
              AND s.sale_date BETWEEN DATE '{start}' AND DATE '{last}'
              AND NOT EXISTS (
                SELECT 1 FROM windows w
                WHERE w.product = s.product
                  AND (w.plan_id IS NULL OR w.plan_id = s.plan_id)
                  AND (w.store_type IS NULL OR w.store_type = t.store_type)
                  AND s.sale_date BETWEEN w.w_start AND w.w_end)
            GROUP BY ALL
            ORDER BY s.product, t.store_type, s.plan_id NULLS FIRST
            LIMIT {MAX_NAMED + 1}
            """,
        )
    finally:
        con.close()
    from quanwang.channels.choices import StoreType

    messages = [
        _(
            "Gap: product %(product)s is sold at %(store_type)s stores (%(plan)s) from "
            "%(start)s to %(end)s (%(sales)d sales) with no rule."
        )
        % {
            "product": row["product"],
            "store_type": StoreType(row["store_type"]).label
            if row["store_type"] in StoreType.values
            else row["store_type"],
            "plan": _("plan %(plan)s") % {"plan": row["plan_id"]}
            if row["plan_id"]
            else _("no plan"),
            "start": row["first_day"],
            "end": row["last_day"],
            "sales": row["sales"],
        }
        for row in found[:MAX_NAMED]
    ]
    if len(found) > MAX_NAMED:
        messages.append(_("More sales without a rule follow; fix these first."))
    return messages


def sale_facts(*, sale_id: str, warehouse: Warehouse | None = None) -> dict[str, Any]:
    """The facts behind a line: the sale, the refunds and reversals naming it, the line's
    churn date and its monthly revenue (the newest 24 months)."""
    store = warehouse or Warehouse()
    con = duckdb.connect()
    key = sql_literal(sale_id)
    try:
        sale = rows(con, f"SELECT * FROM {store.relation('channel_sales')} WHERE sale_id = {key}")
        cancels = rows(
            con,
            f"SELECT * FROM {store.relation('channel_sales')} WHERE original_sale_id = {key} "
            "ORDER BY sale_date, sale_id",
        )
        subscriber_id = sale[0]["subscriber_id"] if sale else None
        churn: list[dict[str, Any]] = []
        usage: list[dict[str, Any]] = []
        if subscriber_id:
            who = sql_literal(subscriber_id)
            churn = rows(
                con,
                f"SELECT status, churn_date FROM {store.relation('subscribers')} "
                f"WHERE subscriber_id = {who}",
            )
            usage = rows(
                con,
                f"SELECT month, arpu FROM {store.relation('monthly_usage')} "
                f"WHERE subscriber_id = {who} ORDER BY month DESC LIMIT 24",
            )
    finally:
        con.close()
    return {
        "sale": sale[0] if sale else None,
        "cancels": cancels,
        "churn": churn[0] if churn else None,
        "usage": usage,
    }
