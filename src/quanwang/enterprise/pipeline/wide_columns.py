"""The account fields of each enterprise member, added to the customer wide table for the
segment builder (issue 17 §7): a campaign can then target "the members of B-grade logistics
accounts whose contracts end within 3 months" (account_grade = B, account_industry = 物流,
account_contract_months ≤ 3).

Registered with core.wide_columns; the insight pipeline joins the table on subscriber_id on
its engine (DuckDB or Spark), so insight never imports enterprise. The source is the grading
part's `member_account_fields(con, month=...)` (an Ibis table per member: subscriber_id,
enterprise_id, grade, industry, churn_risk, switching_cost, nearest_contract_end). Until it
exists, or should it fail, the fallback reads the same facts directly: membership from the
warehouse's `enterprise_members` (else the subscribers' enterprise_id), grade and industry
from the account file, the nearest contract end from `enterprise_products`; risk and switching
cost are then left empty rather than guessed.

`account_contract_months` counts calendar months from the snapshot month to the month of the
account's nearest contract end still in force after the snapshot month's last day: 1 means
next month, so "within 3 months" is ≤ 3.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import ibis
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.core.wide_columns import wide_columns
from quanwang.data.warehouse import Warehouse
from quanwang.enterprise.choices import AccountStatus
from quanwang.insight.months import Month

logger = logging.getLogger(__name__)

COLUMNS = {
    "account_grade": "string",
    "account_industry": "string",
    "account_churn_risk": "float64",
    "account_switching_cost": "float64",
    "account_contract_months": "int64",
}
SOURCE_COLUMNS = (
    "subscriber_id",
    "enterprise_id",
    "grade",
    "industry",
    "churn_risk",
    "switching_cost",
    "nearest_contract_end",
)


def _from_grading(month: str) -> pa.Table | None:
    """The grading part's member fields of `month`, else of its newest kept month (grades and
    scores of last month beat none), else None."""
    try:
        from quanwang.enterprise.grading.features import member_account_fields
    except ImportError:
        return None
    for wanted in (month, None):
        con = ibis.duckdb.connect()
        try:
            table = member_account_fields(con, month=wanted)
            return table.to_pyarrow().select(list(SOURCE_COLUMNS))
        except LookupError:
            continue
        except Exception:
            logger.exception("member_account_fields(%s) failed; using the fallback", wanted)
            return None
        finally:
            con.disconnect()
    return None


def _accounts() -> pa.Table:
    """enterprise_id, grade, industry of the account file (a merged account's members count
    under the survivor's grade and industry)."""
    from quanwang.enterprise.models import Account

    rows = list(
        Account.objects.values_list(
            "enterprise_id", "grade", "industry", "status", "merged_into__grade",
            "merged_into__industry",
        )
    )  # fmt: skip
    merged = AccountStatus.MERGED
    return pa.table(
        {
            "enterprise_id": pa.array([r[0] for r in rows], pa.string()),
            "grade": pa.array(
                [(r[4] if r[3] == merged else r[1]) or None for r in rows], pa.string()
            ),
            "industry": pa.array(
                [(r[5] if r[3] == merged else r[2]) or None for r in rows], pa.string()
            ),
        }
    )


def _fallback(month: Month, warehouse: Warehouse) -> pa.Table:
    con = duckdb.connect()
    try:
        accounts = _accounts()
        con.register("accounts", accounts)
        end = month.last_day.isoformat()
        members_loaded = warehouse.current_file("enterprise_members") is not None
        members = (
            f"SELECT subscriber_id, enterprise_id FROM {warehouse.relation('enterprise_members')}"
            if members_loaded
            else "SELECT subscriber_id, enterprise_id FROM "
            f"{warehouse.relation('subscribers')} WHERE enterprise_id IS NOT NULL"
        )
        return con.sql(
            f"""
            WITH members AS ({members}),
            ends AS (
                SELECT enterprise_id, min(contract_end) AS nearest_contract_end
                FROM {warehouse.relation("enterprise_products")}
                WHERE contract_end > DATE '{end}'
                GROUP BY enterprise_id
            )
            SELECT m.subscriber_id, m.enterprise_id, a.grade, a.industry,
                   CAST(NULL AS DOUBLE) AS churn_risk, CAST(NULL AS DOUBLE) AS switching_cost,
                   e.nearest_contract_end
            FROM members m
            JOIN accounts a USING (enterprise_id)
            LEFT JOIN ends e USING (enterprise_id)
            """
        ).to_arrow_table()
    finally:
        con.close()


def member_columns(month: str, *, warehouse: Warehouse | None = None) -> pa.Table:
    """One row per member (subscriber_id unique) with the COLUMNS."""
    parsed = Month.parse(month)
    source = _from_grading(month)
    if source is None:
        source = _fallback(parsed, warehouse or Warehouse())
    con = duckdb.connect()
    try:
        con.register("source", source)
        # A subscriber listed under two accounts (refused by the accounts part, but a file may
        # still hold one) keeps one row, the lowest enterprise ID, so the join adds no rows.
        return con.sql(
            f"""
            SELECT subscriber_id,
                   CAST(grade AS VARCHAR) AS account_grade,
                   CAST(industry AS VARCHAR) AS account_industry,
                   CAST(churn_risk AS DOUBLE) AS account_churn_risk,
                   CAST(switching_cost AS DOUBLE) AS account_switching_cost,
                   CAST(year(nearest_contract_end) * 12 + month(nearest_contract_end) - 1
                        - {parsed.index} AS BIGINT) AS account_contract_months
            FROM source
            WHERE subscriber_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY subscriber_id ORDER BY enterprise_id) = 1
            """
        ).to_arrow_table()
    finally:
        con.close()


@wide_columns("enterprise_accounts", COLUMNS)
def provide(month: str) -> Any:
    return member_columns(month)
