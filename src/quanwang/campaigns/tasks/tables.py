"""The task lists' rows kept ready in DuckDB, once per process (`listing.task_list` reads them).

A campaign's task rows (its task steps' plans, a customer on two steps under the first, with
the frozen audience's tier, risk, reasons and priority) never change once the plans are
written: joining the Parquet files again on every page view cost about 30 ms a query, twice a
page, and opening a DuckDB connection another 70-90 ms on the 2-core machine. So the process
keeps one connection (each request works on its own cursor, where it registers that request's
outcomes and quotas) and one in-memory table per campaign, built on first use and rebuilt when
a plan or the audience file changes (a new step, a resumed dispatch). The warehouse's stores
are kept the same way (one table per stores file), for the names on a page's rows.

Priority (`PriorityBasis`): the predicted uplift where the campaign was targeted by uplift
(the audience has `predicted_uplift`), else churn risk × the customer's value (12-month CLV,
else 3-month ARPU), else the churn risk alone; with no churn risk (no churn model yet), the
value alone. `priority_rank` is the task's place in its campaign as a share (cume_dist: 0.03
= among the campaign's top 3%), so that the tasks of campaigns scored in different units can
be listed together.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.db import models
from django.utils.translation import gettext_lazy

from quanwang.campaigns.issuing import ACCOUNT_MANAGER
from quanwang.data.warehouse import Warehouse, sql_literal

# Columns of every campaign's table, in this order.
COLUMNS = (
    "campaign_id", "step", "subscriber_id", "grid_id", "store_id", ACCOUNT_MANAGER, "msisdn",
    "name", "value_tier", "churn_risk", "churn_reasons_zh", "priority", "priority_rank",
)  # fmt: skip
# Campaigns whose tables a process keeps; the least recently read goes first.
KEPT_CAMPAIGNS = 32
# Tables replaced or dropped are kept this many replacements longer: a request that named one
# just before may still be reading it.
RETIRED_KEPT = 4


class PriorityBasis(models.TextChoices):
    """What a campaign's tasks are ranked by (the frozen audience's columns decide)."""

    UPLIFT = "uplift", gettext_lazy("Predicted uplift")
    RISK_CLV = "risk_clv", gettext_lazy("Churn risk × 12-month customer value")
    RISK_ARPU = "risk_arpu", gettext_lazy("Churn risk × 3-month ARPU")
    RISK = "risk", gettext_lazy("Churn risk")
    #: No churn risk in the audience (no churn model yet): the value alone.
    CLV = "clv", gettext_lazy("12-month customer value")
    ARPU = "arpu", gettext_lazy("3-month ARPU")


@dataclass(frozen=True)
class KeptTable:
    name: str
    basis: PriorityBasis | None


_lock = threading.Lock()
_connection: duckdb.DuckDBPyConnection | None = None
_tables: OrderedDict[int, tuple[tuple[object, ...], KeptTable]] = OrderedDict()
_retired: list[str] = []


def cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of this process's connection, for one request (close it after)."""
    global _connection
    with _lock:
        if _connection is None:
            _connection = duckdb.connect()
            # Parquet footers kept between queries; GLOBAL, so that the cursors inherit it.
            _connection.execute("SET GLOBAL parquet_metadata_cache = true")
            # Planning a page (ORDER BY … LIMIT) with late materialisation took 4-5 ms for a
            # rowid self-join that gains nothing on tables this size held in memory.
            _connection.execute("SET GLOBAL disabled_optimizers = 'late_materialization'")
        return _connection.cursor()


def _stamp(path: Path | str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return -1


def campaign_table(
    *, campaign_id: int, plans: Sequence[tuple[str, Path]], audience: str
) -> KeptTable:
    """The table holding the campaign's task rows (`COLUMNS`), from its task steps' plans in
    order (step name, plan file) and its frozen audience file, and what ranks them."""
    signature = (
        tuple((step, str(plan), _stamp(plan)) for step, plan in plans),
        audience,
        _stamp(audience),
    )
    with _lock:
        kept = _tables.get(campaign_id)
        if kept is not None and kept[0] == signature:
            _tables.move_to_end(campaign_id)
            return kept[1]
    digest = hashlib.sha1(repr(signature).encode()).hexdigest()[:12]
    names = pq.read_schema(audience).names
    table = KeptTable(name=f"tasks_{campaign_id}_{digest}", basis=priority_basis(names))
    con = cursor()
    try:
        # Built outside the lock (it reads files); two requests building the same table at
        # once both succeed, the second finding it there.
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table.name} AS "
            f"{_rows_sql(campaign_id, plans, audience, names)}"
        )
    finally:
        con.close()
    with _lock:
        previous = _tables.get(campaign_id)
        if previous is not None and previous[1].name != table.name:
            _retired.append(previous[1].name)
        _tables[campaign_id] = (signature, table)
        _tables.move_to_end(campaign_id)
        while len(_tables) > KEPT_CAMPAIGNS:
            _retired.append(_tables.popitem(last=False)[1][1].name)
        dropped = _retired[:-RETIRED_KEPT] if len(_retired) > RETIRED_KEPT else []
        del _retired[: len(dropped)]
    if dropped:
        con = cursor()
        try:
            for name in dropped:
                con.execute(f"DROP TABLE IF EXISTS {name}")
        finally:
            con.close()
    return table


#: Each basis, best first, with the audience columns it needs and its score's SQL.
PRIORITY_SQL: dict[PriorityBasis, tuple[frozenset[str], str]] = {
    PriorityBasis.UPLIFT: (frozenset({"predicted_uplift"}), "a.predicted_uplift"),
    # A negative CLV or ARPU (refunds) is no value to keep: it ranks as none.
    PriorityBasis.RISK_CLV: (
        frozenset({"churn_risk", "clv_12m"}),
        "a.churn_risk * greatest(a.clv_12m, 0)",
    ),
    PriorityBasis.RISK_ARPU: (
        frozenset({"churn_risk", "arpu_3m"}),
        "a.churn_risk * greatest(a.arpu_3m, 0)",
    ),
    PriorityBasis.RISK: (frozenset({"churn_risk"}), "a.churn_risk"),
    PriorityBasis.CLV: (frozenset({"clv_12m"}), "a.clv_12m"),
    PriorityBasis.ARPU: (frozenset({"arpu_3m"}), "a.arpu_3m"),
}


def priority_basis(audience_columns: Sequence[str]) -> PriorityBasis | None:
    """The best basis the audience has the columns for; None: no task ranks above another."""
    names = set(audience_columns)
    return next((basis for basis, (needs, _sql) in PRIORITY_SQL.items() if needs <= names), None)


def _column(names: Sequence[str], name: str, kind: str, *, table: str = "") -> str:
    prefix = f"{table}." if table else ""
    return f"{prefix}{name}" if name in names else f"CAST(NULL AS {kind}) AS {name}"


def _rows_sql(
    campaign_id: int, plans: Sequence[tuple[str, Path]], audience: str, names: Sequence[str]
) -> str:
    """SQL of the campaign's task rows: one per customer (a customer on two task steps is
    listed under the first), with their frozen audience's facts and priority."""
    steps = " UNION ALL ".join(
        f"SELECT {rank} AS step_rank, {sql_literal(step)} AS step, subscriber_id, grid_id, "
        f"CAST(store_id AS VARCHAR) AS store_id, "
        # A plan made before the account-manager split existed has no such column.
        f"{_column(pq.read_schema(plan).names, ACCOUNT_MANAGER, 'VARCHAR')}, msisdn, name "
        f"FROM read_parquet({sql_literal(str(plan))})"
        for rank, (step, plan) in enumerate(plans)
    )
    basis = priority_basis(names)
    priority = "NULL" if basis is None else PRIORITY_SQL[basis][1]
    return f"""
        SELECT *, cume_dist() OVER (ORDER BY priority DESC NULLS LAST) AS priority_rank
        FROM (
            SELECT {campaign_id} AS campaign_id, p.step, p.subscriber_id, p.grid_id,
                   p.store_id, p.{ACCOUNT_MANAGER}, p.msisdn, p.name,
                   {_column(names, "value_tier", "VARCHAR", table="a")},
                   {_column(names, "churn_risk", "DOUBLE", table="a")},
                   {_column(names, "churn_reasons_zh", "VARCHAR", table="a")},
                   CAST({priority} AS DOUBLE) AS priority
            FROM (SELECT * FROM ({steps})
                  QUALIFY row_number() OVER (PARTITION BY subscriber_id
                                             ORDER BY step_rank) = 1) p
            LEFT JOIN read_parquet({sql_literal(audience)}) a USING (subscriber_id))
        ORDER BY priority_rank, priority DESC NULLS LAST, subscriber_id"""


def task_of(con: duckdb.DuckDBPyConnection, table: KeptTable, subscriber_id: str) -> Any:
    """The customer's (grid_id, store_id, account_manager) on the kept table, or None."""
    return con.execute(
        f"SELECT grid_id, store_id, {ACCOUNT_MANAGER} FROM {table.name} WHERE subscriber_id = ?",
        [subscriber_id],
    ).fetchone()


_stores: tuple[str, str] | None = None  # (the stores file read, its kept table's name)


def store_names(con: duckdb.DuckDBPyConnection, store_ids: set[str]) -> dict[str, str]:
    """The names of these stores (warehouse `stores`), read for one page's rows from the
    stores kept in memory (reading the Parquet file again took 5-8 ms a request); a newly
    imported stores table is read on the next request."""
    if not store_ids:
        return {}
    table = _stores_table(con)
    listed = ", ".join(sql_literal(store) for store in sorted(store_ids))
    sql = f"SELECT store_id, name FROM {table} WHERE store_id IN ({listed})"
    found = con.execute(sql).fetchall()
    return {str(store): str(name) for store, name in found}


def _stores_table(con: duckdb.DuckDBPyConnection) -> str:
    global _stores
    relation = Warehouse().relation("stores")
    with _lock:
        kept = _stores
    if kept is not None and kept[0] == relation:
        return kept[1]
    name = f"stores_{hashlib.sha1(relation.encode()).hexdigest()[:12]}"
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {name} AS SELECT CAST(store_id AS VARCHAR) AS store_id, "
        f"CAST(name AS VARCHAR) AS name FROM {relation} WHERE name IS NOT NULL"
    )
    with _lock:
        previous, _stores = _stores, (relation, name)
        if previous is not None and previous[1] != name:
            _retired.append(previous[1])  # dropped with the tasks' tables
    return name
