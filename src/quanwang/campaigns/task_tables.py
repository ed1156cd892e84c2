"""The task lists' rows kept ready in DuckDB, once per process (`tasks.task_list` reads them).

A campaign's task rows (its task steps' plans, a customer on two steps under the first, with
the frozen audience's tier, risk and reasons) never change once the plans are written: joining
the Parquet files again on every page view cost about 30 ms a query, twice a page, and opening
a DuckDB connection another 70-90 ms on the 2-core machine. So the process keeps one
connection (each request works on its own cursor, where it registers that request's outcomes
and quotas) and one in-memory table per campaign, built on first use and rebuilt when a plan or
the audience file changes (a new step, a resumed dispatch).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.campaigns.issuing import ACCOUNT_MANAGER
from quanwang.data.warehouse import sql_literal

# Columns of every campaign's table, in this order.
COLUMNS = (
    "campaign_id", "step", "subscriber_id", "grid_id", "store_id", ACCOUNT_MANAGER, "msisdn",
    "name", "value_tier", "churn_risk", "churn_reasons_zh",
)  # fmt: skip
# Campaigns whose tables a process keeps; the least recently read goes first.
KEPT_CAMPAIGNS = 32
# Tables replaced or dropped are kept this many replacements longer: a request that named one
# just before may still be reading it.
RETIRED_KEPT = 4

_lock = threading.Lock()
_connection: duckdb.DuckDBPyConnection | None = None
_tables: OrderedDict[int, tuple[tuple[object, ...], str]] = OrderedDict()
_retired: list[str] = []


def cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of this process's connection, for one request (close it after)."""
    global _connection
    with _lock:
        if _connection is None:
            _connection = duckdb.connect()
            # Parquet footers kept between queries; GLOBAL, so that the cursors inherit it.
            _connection.execute("SET GLOBAL parquet_metadata_cache = true")
        return _connection.cursor()


def _stamp(path: Path | str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return -1


def campaign_table(*, campaign_id: int, plans: Sequence[tuple[str, Path]], audience: str) -> str:
    """The name of the table holding the campaign's task rows (`COLUMNS`), from its task
    steps' plans in order (step name, plan file) and its frozen audience file."""
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
    name = f"tasks_{campaign_id}_{digest}"
    con = cursor()
    try:
        # Built outside the lock (it reads files); two requests building the same table at
        # once both succeed, the second finding it there.
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {name} AS {_rows_sql(campaign_id, plans, audience)}"
        )
    finally:
        con.close()
    with _lock:
        previous = _tables.get(campaign_id)
        if previous is not None and previous[1] != name:
            _retired.append(previous[1])
        _tables[campaign_id] = (signature, name)
        _tables.move_to_end(campaign_id)
        while len(_tables) > KEPT_CAMPAIGNS:
            _retired.append(_tables.popitem(last=False)[1][1])
        dropped = _retired[:-RETIRED_KEPT] if len(_retired) > RETIRED_KEPT else []
        del _retired[: len(dropped)]
    if dropped:
        con = cursor()
        try:
            for table in dropped:
                con.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            con.close()
    return name


def _column(names: list[str], name: str, kind: str, *, table: str = "") -> str:
    prefix = f"{table}." if table else ""
    return f"{prefix}{name}" if name in names else f"CAST(NULL AS {kind}) AS {name}"


def _rows_sql(campaign_id: int, plans: Sequence[tuple[str, Path]], audience: str) -> str:
    """SQL of the campaign's task rows: one per customer (a customer on two task steps is
    listed under the first), with their frozen audience's facts, in the list's order."""
    steps = " UNION ALL ".join(
        f"SELECT {rank} AS step_rank, {sql_literal(step)} AS step, subscriber_id, grid_id, "
        f"CAST(store_id AS VARCHAR) AS store_id, "
        # A plan made before the account-manager split existed has no such column.
        f"{_column(pq.read_schema(plan).names, ACCOUNT_MANAGER, 'VARCHAR')}, msisdn, name "
        f"FROM read_parquet({sql_literal(str(plan))})"
        for rank, (step, plan) in enumerate(plans)
    )
    names = pq.read_schema(audience).names
    return f"""
        SELECT {campaign_id} AS campaign_id, p.step, p.subscriber_id, p.grid_id, p.store_id,
               p.{ACCOUNT_MANAGER}, p.msisdn, p.name,
               {_column(names, "value_tier", "VARCHAR", table="a")},
               {_column(names, "churn_risk", "DOUBLE", table="a")},
               {_column(names, "churn_reasons_zh", "VARCHAR", table="a")}
        FROM (SELECT * FROM ({steps})
              QUALIFY row_number() OVER (PARTITION BY subscriber_id ORDER BY step_rank) = 1) p
        LEFT JOIN read_parquet({sql_literal(audience)}) a USING (subscriber_id)
        ORDER BY p.{ACCOUNT_MANAGER} NULLS FIRST, p.grid_id, p.store_id, p.subscriber_id"""
