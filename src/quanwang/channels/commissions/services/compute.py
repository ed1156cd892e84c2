"""One month's statement lines for many stores, in one pass of DuckDB over the warehouse.

The ledger. Each sale earns *components*, each due in one month, computed from the facts
alone: the part paid on activation (due in the sale's month), the deferred part (due N months
later, if the line has not churned by then), a share of each of the first months' revenue
(due in that month), a clawback of the fixed parts when the line churns within M months (due
in the churn's month). A refund or reversal (退款/冲正) voids its sale from its day: the
components due from that month on are dropped and one reversal, due that month, takes back
the sum of those due before. Only the earliest refund or reversal of a sale counts; later
ones are listed as facts without commission. A sale's lines therefore sum to exactly zero
once it is voided, however many refunds name it.

A statement of month M pays, for each component due from the ledger's first month up to M,
what is due now minus what approved statements already paid for it. A component of a month
already approved that changed (a late sale, a changed sale, a late refund) therefore becomes
an adjustment line in M, never an edit of the frozen statement; one paid right gives no
line. The same facts and the same approved statements give the same lines, byte for byte.

Volume tiers count the store's sales of the rule in the sale's month, less those voided
within that month; the tier reached pays every one of those sales.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.channels.commissions.choices import LINE_ORDER, NOTE_KINDS, PAYING_KINDS, LineKind
from quanwang.channels.commissions.services.facts import CANCEL_KINDS, SALE
from quanwang.data.warehouse import Warehouse, sql_literal
from quanwang.insight.months import Month

MONEY = pa.decimal128(14, 2)
SHARE = pa.decimal128(7, 4)
FAR = "DATE '9999-12-31'"
KINDS_IN = ", ".join(sql_literal(k) for k in CANCEL_KINDS)

#: The columns of the lines file, in order: the statement's store and month, the line, the
#: facts behind it (sale, rule, tier, revenue, churn, refund or reversal) and the sums.
LINE_COLUMNS = (
    "store_id",
    "month",
    "line_no",
    "kind",
    "due_month",
    "adjustment",
    "sale_id",
    "sale_date",
    "product",
    "plan_id",
    "subscriber_id",
    "rule_id",
    "rule_set",
    "rule_version",
    "volume",
    "tier_from",
    "fixed_amount",
    "upfront_share",
    "deferred_months",
    "revenue_share",
    "revenue_months",
    "clawback_months",
    "arpu",
    "churn_date",
    "cancel_id",
    "cancel_kind",
    "cancel_date",
    "due_amount",
    "paid_before",
    "amount",
)
#: A line as canonical text (its fingerprint's input): every column in order, as text, joined
#: by "|", NULL as empty. (concat_ws builds it about three times faster than || chains.)
LINE_TEXT = (
    "concat_ws('|', " + ", ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c in LINE_COLUMNS) + ")"
)


@dataclass(frozen=True)
class PaidStatement:
    """An approved statement of an earlier month: what its lines paid counts as paid."""

    store_id: str
    month: str
    lines_path: Path


@dataclass(frozen=True)
class StoreTotals:
    store_id: str
    fingerprint: str
    line_count: int
    note_count: int
    total: Any
    adjustment_total: Any
    deduction_total: Any


@dataclass
class MonthLines:
    """What a run computed: the totals per store (the lines are in the file written)."""

    stores: list[StoreTotals]
    figures: dict[str, Any] = field(default_factory=dict)


def _rules_table(rules: Sequence[dict[str, Any]]) -> pa.Table:
    def col(name: str, kind: pa.DataType) -> pa.Array:
        return pa.array([r[name] for r in rules], kind)

    return pa.table(
        {
            "rule_id": col("rule_id", pa.int64()),
            "rule_set": col("rule_set", pa.string()),
            "rule_version": col("version", pa.int64()),
            "r_product": col("product", pa.string()),
            "r_plan": col("plan_id", pa.string()),
            "r_type": col("store_type", pa.string()),
            "eff_from": col("eff_from", pa.date32()),
            "eff_until": col("eff_until", pa.date32()),
            "r_fixed": col("fixed_amount", MONEY),
            "upfront_share": col("upfront_share", SHARE),
            "deferred_months": col("deferred_months", pa.int32()),
            "r_share": col("revenue_share", SHARE),
            "revenue_months": col("revenue_months", pa.int32()),
            "clawback_months": col("clawback_months", pa.int32()),
        }
    )


def _tiers_table(tiers: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.table(
        {
            "rule_id": pa.array([t["rule_id"] for t in tiers], pa.int64()),
            "min_volume": pa.array([t["min_volume"] for t in tiers], pa.int64()),
            "t_fixed": pa.array([t["fixed_amount"] for t in tiers], MONEY),
            "t_share": pa.array([t["revenue_share"] for t in tiers], SHARE),
        }
    )


def _paid_relation(con: duckdb.DuckDBPyConnection, paid: Sequence[PaidStatement]) -> str:
    """SQL for the paying lines of the approved statements (empty when there are none)."""
    empty = (
        "(SELECT NULL::VARCHAR AS store_id, NULL::VARCHAR AS sale_id, NULL::VARCHAR AS kind, "
        "NULL::VARCHAR AS due_month, NULL::DECIMAL(14,2) AS amount WHERE false)"
    )
    if not paid:
        return empty
    con.register(
        "approved",
        pa.table(
            {
                "store_id": [p.store_id for p in paid],
                "month": [p.month for p in paid],
            }
        ),
    )
    files = sorted({str(p.lines_path) for p in paid})
    listing = "[" + ", ".join(sql_literal(f) for f in files) + "]"
    kinds = ", ".join(sql_literal(k.value) for k in PAYING_KINDS)
    return (
        "(SELECT p.store_id, p.sale_id, p.kind, p.due_month, p.amount "
        f"FROM read_parquet({listing}) p SEMI JOIN approved a "
        "ON a.store_id = p.store_id AND a.month = p.month "
        f"WHERE p.kind IN ({kinds}))"
    )


def _month_sql(expr: str) -> str:
    return f"printf('%04d-%02d', ({expr}) // 12, ({expr}) % 12 + 1)"


def _idx(expr: str) -> str:
    return f"(year({expr}) * 12 + month({expr}) - 1)"


def compute_month(
    *,
    month: Month,
    opening: Month,
    stores: pa.Table,
    eligible: Sequence[str],
    rules: Sequence[dict[str, Any]],
    tiers: Sequence[dict[str, Any]],
    paid: Sequence[PaidStatement],
    target: Path,
    warehouse: Warehouse | None = None,
    progress: Callable[[str], None] | None = None,
    threads: int | None = None,
) -> MonthLines:
    """Write month M's lines of the `eligible` stores to `target` (Parquet, in store and line
    order) and return each store's totals. `stores`: store_id → store_type of the store file;
    `paid`: the approved statements of earlier months of those stores."""
    say = progress or (lambda _stage: None)
    store = warehouse or Warehouse()
    m_idx, open_idx, last = month.index, opening.index, month.last_day
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    try:
        con.register("store_types", stores)
        con.register("eligible", pa.table({"store_id": pa.array(list(eligible), pa.string())}))
        con.register("rules", _rules_table(rules))
        con.register("tiers", _tiers_table(tiers))
        say("facts")
        con.execute(
            f"""
            CREATE TEMP TABLE f AS
            SELECT sale_id, store_id, sale_date, product, plan_id, subscriber_id, kind,
                   original_sale_id
            FROM {store.relation("channel_sales")}
            WHERE sale_date <= DATE '{last}'
            """
        )
        # The earliest refund or reversal of each sale voids it (never before its own day).
        con.execute(
            f"""
            CREATE TEMP TABLE cx AS
            SELECT c.sale_id AS cancel_id, c.kind AS cancel_kind, c.sale_date AS cancel_date,
                   c.store_id AS cancel_store, c.original_sale_id, s.sale_id AS found,
                   s.store_id AS sale_store,
                   greatest(c.sale_date, s.sale_date) AS void_date,
                   row_number() OVER (
                       PARTITION BY c.original_sale_id, s.sale_id IS NULL
                       ORDER BY greatest(c.sale_date, s.sale_date), c.sale_id) AS rn
            FROM f c LEFT JOIN f s ON s.sale_id = c.original_sale_id AND s.kind = '{SALE}'
            WHERE c.kind IN ({KINDS_IN})
            """
        )
        say("rules")
        # Each sale's rule: hash-joined on the product, then the plan, type and days; the
        # publish checks leave at most one, the lowest rule ID is kept all the same.
        con.execute(
            f"""
            CREATE TEMP TABLE hit AS
            SELECT s.sale_id, min(r.rule_id) AS rule_id
            FROM f s
            JOIN store_types t ON t.store_id = s.store_id
            JOIN rules r ON r.r_product = s.product
            WHERE s.kind = '{SALE}'
              AND (r.r_plan IS NULL OR r.r_plan = s.plan_id)
              AND (r.r_type IS NULL OR r.r_type = t.store_type)
              AND s.sale_date >= r.eff_from AND s.sale_date <= coalesce(r.eff_until, {FAR})
            GROUP BY s.sale_id
            """
        )
        con.execute(
            f"""
            CREATE TEMP TABLE m AS
            SELECT s.sale_id, s.store_id, s.sale_date, s.product, s.plan_id, s.subscriber_id,
                   {_idx("s.sale_date")} AS sale_idx, r.*,
                   c.cancel_id, c.cancel_kind, c.cancel_date, c.void_date,
                   {_idx("c.void_date")} AS void_idx,
                   sub.churn_date
            FROM f s
            SEMI JOIN store_types t ON t.store_id = s.store_id
            LEFT JOIN hit h ON h.sale_id = s.sale_id
            LEFT JOIN rules r ON r.rule_id = h.rule_id
            LEFT JOIN (SELECT * FROM cx WHERE found IS NOT NULL AND rn = 1) c
              ON c.original_sale_id = s.sale_id
            LEFT JOIN (
                SELECT subscriber_id, churn_date FROM {store.relation("subscribers")}
                WHERE churn_date <= DATE '{last}') sub
              ON sub.subscriber_id = s.subscriber_id
            WHERE s.kind = '{SALE}'
            """
        )
        # The tier each store reached per rule and month, then each sale's amounts.
        con.execute(
            """
            CREATE TEMP TABLE b AS
            WITH vol AS (
                SELECT store_id, rule_id, sale_idx, count(*) AS volume FROM m
                WHERE rule_id IS NOT NULL AND (void_idx IS NULL OR void_idx > sale_idx)
                GROUP BY ALL),
            tier AS (
                SELECT v.*, t.min_volume AS tier_from, t.t_fixed, t.t_share
                FROM vol v LEFT JOIN tiers t
                  ON t.rule_id = v.rule_id AND t.min_volume <= v.volume
                QUALIFY row_number() OVER (
                    PARTITION BY v.store_id, v.rule_id, v.sale_idx
                    ORDER BY t.min_volume DESC NULLS LAST) = 1)
            SELECT m.*, coalesce(tier.volume, 0) AS volume, tier.tier_from,
                   CAST(coalesce(tier.t_fixed, m.r_fixed) AS DECIMAL(14,2)) AS fixed_amount,
                   CAST(coalesce(tier.t_share, m.r_share) AS DECIMAL(7,4)) AS revenue_share,
                   CAST(round(coalesce(tier.t_fixed, m.r_fixed) * m.upfront_share, 2)
                        AS DECIMAL(14,2)) AS up_amount
            FROM m LEFT JOIN tier USING (store_id, rule_id, sale_idx)
            WHERE m.rule_id IS NOT NULL
            """
        )
        say("components")
        deferred_day = "CAST(sale_date + to_months(deferred_months) AS DATE)"
        deferred_paid = (
            f"(deferred_months > 0 AND fixed_amount - up_amount <> 0 "
            f"AND (churn_date IS NULL OR churn_date > {deferred_day}))"
        )
        con.execute(
            f"""
            CREATE TEMP TABLE comp AS
            SELECT sale_id, '{LineKind.UPFRONT}' AS kind, sale_idx AS due_idx,
                   up_amount AS amount, NULL::DECIMAL(14,2) AS arpu, store_id, void_idx
            FROM b WHERE up_amount <> 0
            UNION ALL
            SELECT sale_id, '{LineKind.DEFERRED}', sale_idx + deferred_months,
                   CAST(fixed_amount - up_amount AS DECIMAL(14,2)), NULL, store_id, void_idx
            FROM b WHERE {deferred_paid}
            UNION ALL
            SELECT b.sale_id, '{LineKind.REVENUE_SHARE}', u.idx,
                   CAST(round(b.revenue_share * u.arpu, 2) AS DECIMAL(14,2)), u.arpu,
                   b.store_id, b.void_idx
            FROM b JOIN (
                SELECT subscriber_id,
                       CAST(substr(month, 1, 4) AS INTEGER) * 12
                         + CAST(substr(month, 6, 2) AS INTEGER) - 1 AS idx,
                       CAST(arpu AS DECIMAL(14,2)) AS arpu
                FROM {store.relation("monthly_usage")}
                WHERE month <= '{month}'
                  AND subscriber_id IN (
                      SELECT subscriber_id FROM b
                      WHERE revenue_share > 0 AND subscriber_id IS NOT NULL)) u
              ON u.subscriber_id = b.subscriber_id
             AND u.idx BETWEEN b.sale_idx AND b.sale_idx + b.revenue_months - 1
            WHERE b.revenue_share > 0
            UNION ALL
            SELECT sale_id, '{LineKind.CLAWBACK}', {_idx("churn_date")},
                   CAST(-(up_amount + CASE WHEN {deferred_paid}
                          THEN fixed_amount - up_amount ELSE 0 END) AS DECIMAL(14,2)), NULL,
                   store_id, void_idx
            FROM b
            WHERE clawback_months > 0 AND churn_date >= sale_date
              AND churn_date <= CAST(sale_date + to_months(clawback_months) AS DATE)
            """
        )
        # A voided sale keeps what fell due before its void month, and gives it back then.
        con.execute(
            f"""
            CREATE TEMP TABLE due AS
            WITH kept AS (
                SELECT * FROM comp WHERE void_idx IS NULL OR due_idx < void_idx),
            reversal AS (
                SELECT sale_id, '{LineKind.REVERSAL}' AS kind, void_idx AS due_idx,
                       CAST(-sum(amount) AS DECIMAL(14,2)) AS amount,
                       NULL::DECIMAL(14,2) AS arpu, store_id
                FROM kept
                WHERE void_idx IS NOT NULL
                GROUP BY sale_id, store_id, void_idx
                HAVING sum(amount) <> 0)
            SELECT x.store_id, x.sale_id, x.kind, {_month_sql("x.due_idx")} AS due_month,
                   x.amount, x.arpu
            FROM (
                SELECT sale_id, kind, due_idx, amount, arpu, store_id FROM kept
                UNION ALL SELECT * FROM reversal) x
            SEMI JOIN eligible e ON e.store_id = x.store_id
            WHERE x.due_idx BETWEEN {open_idx} AND {m_idx} AND x.amount <> 0
            """
        )
        say("ledger")
        con.execute(
            f"""
            CREATE TEMP TABLE paid AS
            SELECT p.store_id, p.sale_id, p.kind, p.due_month,
                   CAST(sum(p.amount) AS DECIMAL(14,2)) AS paid_before
            FROM {_paid_relation(con, paid)} p SEMI JOIN eligible e USING (store_id)
            GROUP BY ALL
            """
        )
        order = " ".join(f"WHEN '{k}' THEN {i}" for k, i in LINE_ORDER.items())
        notes = _notes_sql(m_idx)
        con.execute(
            f"""
            CREATE TEMP TABLE lines AS
            WITH ledger AS (
                SELECT coalesce(d.store_id, p.store_id) AS store_id,
                       coalesce(d.sale_id, p.sale_id) AS sale_id,
                       coalesce(d.kind, p.kind) AS kind,
                       coalesce(d.due_month, p.due_month) AS due_month,
                       d.arpu,
                       coalesce(d.amount, 0)::DECIMAL(14,2) AS due_amount,
                       coalesce(p.paid_before, 0)::DECIMAL(14,2) AS paid_before
                FROM due d FULL OUTER JOIN paid p
                  ON d.store_id = p.store_id AND d.sale_id = p.sale_id AND d.kind = p.kind
                 AND d.due_month = p.due_month),
            paying AS (
                SELECT l.store_id, l.kind, l.due_month, l.due_month < '{month}' AS adjustment,
                       l.sale_id, s.sale_date, s.product, s.plan_id, s.subscriber_id,
                       r.rule_id, r.rule_set, r.rule_version, r.volume, r.tier_from,
                       r.fixed_amount, r.upfront_share, r.deferred_months, r.revenue_share,
                       r.revenue_months, r.clawback_months, l.arpu, s.churn_date,
                       CASE WHEN l.kind = '{LineKind.REVERSAL}' THEN s.cancel_id END
                         AS cancel_id,
                       CASE WHEN l.kind = '{LineKind.REVERSAL}' THEN s.cancel_kind END
                         AS cancel_kind,
                       CASE WHEN l.kind = '{LineKind.REVERSAL}' THEN s.cancel_date END
                         AS cancel_date,
                       l.due_amount, l.paid_before,
                       CAST(l.due_amount - l.paid_before AS DECIMAL(14,2)) AS amount,
                       0 AS is_note
                FROM ledger l
                LEFT JOIN m s ON s.sale_id = l.sale_id
                LEFT JOIN b r ON r.sale_id = l.sale_id
                WHERE l.due_amount <> l.paid_before),
            every AS (SELECT * FROM paying UNION ALL BY NAME {notes})
            SELECT store_id, '{month}' AS month,
                   row_number() OVER (
                       PARTITION BY store_id
                       ORDER BY is_note, due_month, sale_id, CASE kind {order} END, cancel_id
                   ) AS line_no,
                   * EXCLUDE (store_id, is_note)
            FROM every
            """
        )
        say("writing")
        lines = con.sql(
            f"SELECT {', '.join(LINE_COLUMNS)} FROM lines ORDER BY store_id, line_no"
        ).to_arrow_table()
        _write(lines, target)
        totals = _totals(con)
        figures = _figures(con, store=store, lines=lines.num_rows)
    finally:
        con.close()
    return MonthLines(stores=totals, figures=figures)


def _notes_sql(m_idx: int) -> str:
    """The month's facts that earn nothing, at eligible stores: sales no rule covers, second
    refunds or reversals of one sale, and refunds or reversals naming no known sale."""
    return f"""
        SELECT m.store_id, '{LineKind.NO_RULE}' AS kind, {_month_sql("m.sale_idx")} AS due_month,
               false AS adjustment, m.sale_id, m.sale_date, m.product, m.plan_id,
               m.subscriber_id, 0::DECIMAL(14,2) AS due_amount,
               0::DECIMAL(14,2) AS paid_before, 0::DECIMAL(14,2) AS amount, 1 AS is_note
        FROM m SEMI JOIN eligible e USING (store_id)
        WHERE m.rule_id IS NULL AND m.sale_idx = {m_idx}
        UNION ALL BY NAME
        SELECT c.sale_store AS store_id, '{LineKind.DUPLICATE_CANCEL}' AS kind,
               {_month_sql(_idx("c.cancel_date"))} AS due_month, false AS adjustment,
               c.original_sale_id AS sale_id, c.cancel_id, c.cancel_kind, c.cancel_date,
               0::DECIMAL(14,2) AS due_amount, 0::DECIMAL(14,2) AS paid_before,
               0::DECIMAL(14,2) AS amount, 1 AS is_note
        FROM cx c SEMI JOIN eligible e ON e.store_id = c.sale_store
        WHERE c.found IS NOT NULL AND c.rn > 1 AND {_idx("c.cancel_date")} = {m_idx}
        UNION ALL BY NAME
        SELECT c.cancel_store AS store_id, '{LineKind.UNKNOWN_ORIGINAL}' AS kind,
               {_month_sql(_idx("c.cancel_date"))} AS due_month, false AS adjustment,
               c.original_sale_id AS sale_id, c.cancel_id, c.cancel_kind, c.cancel_date,
               0::DECIMAL(14,2) AS due_amount, 0::DECIMAL(14,2) AS paid_before,
               0::DECIMAL(14,2) AS amount, 1 AS is_note
        FROM cx c SEMI JOIN eligible e ON e.store_id = c.cancel_store
        WHERE c.found IS NULL AND {_idx("c.cancel_date")} = {m_idx}
    """


def _write(lines: pa.Table, target: Path) -> None:
    """The lines as Parquet, written by one writer with fixed settings: the same lines make
    the same bytes."""
    from quanwang.core.tabular import private_file

    with private_file(target) as handle:
        pq.write_table(
            lines,
            handle,
            compression="zstd",
            row_group_size=500_000,
            write_statistics=True,
            store_schema=False,
        )


def _totals(con: duckdb.DuckDBPyConnection) -> list[StoreTotals]:
    kinds = ", ".join(sql_literal(k.value) for k in NOTE_KINDS)
    found = con.sql(
        f"""
        SELECT store_id,
               sha256(string_agg({LINE_TEXT}, chr(10) ORDER BY line_no)) AS fingerprint,
               count(*) FILTER (WHERE kind NOT IN ({kinds})) AS line_count,
               count(*) FILTER (WHERE kind IN ({kinds})) AS note_count,
               coalesce(sum(amount), 0) AS total,
               coalesce(sum(amount) FILTER (WHERE adjustment), 0) AS adjustment_total,
               coalesce(sum(amount) FILTER (WHERE amount < 0), 0) AS deduction_total
        FROM lines GROUP BY store_id ORDER BY store_id
        """
    ).fetchall()
    return [StoreTotals(*row) for row in found]


def _figures(con: duckdb.DuckDBPyConnection, *, store: Warehouse, lines: int) -> dict[str, Any]:
    (sales, cancels, matched, unknown_store) = con.sql(
        f"""
        SELECT count(*) FILTER (WHERE kind = '{SALE}'),
               count(*) FILTER (WHERE kind IN ({KINDS_IN})),
               (SELECT count(*) FROM b),
               count(*) FILTER (WHERE store_id NOT IN (SELECT store_id FROM store_types))
        FROM f
        """
    ).fetchall()[0]
    versions = {}
    for table in ("channel_sales", "subscribers", "monthly_usage"):
        current = store.current_file(table)
        versions[table] = current.parent.name if current is not None else ""
    return {
        "sales": sales,
        "cancels": cancels,
        "matched": matched,
        "unknown_store_facts": unknown_store,
        "lines": lines,
        "facts_versions": versions,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
