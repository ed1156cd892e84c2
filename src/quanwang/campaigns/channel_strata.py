"""The channel strata of a campaign's customers for its evaluation: the grade of the store whose
task list each customer is on, and the type of their grid (issue 16, "campaigns through the
channels"; docs/campaigns-evaluation.md, "By store grade and grid type").

- Grid type: the warehouse `grids` table's `grid_type` (沿街/行业/校园/园区/农村) of the
  customer's frozen grid. The control group is stratified by grid, so each grid type's
  control customers are exactly comparable with its treated ones.
- Store grade: a treated customer's store is the one of their first task step's list
  (dispatch deals each grid's customers over its stores, or by the store quotas); its grade
  is the store file's (channels Store.grade), else the warehouse `stores.grade`, else
  "ungraded". A control customer is on no list, so the stores are dealt to the control
  group as they were to the treated: within each grid, the control customers, in the order
  of a seeded hash, take the treated customers' mix of stores (no store included) in the same
  shares. The dealing of the treated is random within a grid (a seeded hash), so the control
  customers dealt to a store stand for those the store would have had.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.campaigns.models import Campaign
from quanwang.campaigns.tasks.scope import task_steps
from quanwang.data.warehouse import Warehouse, sql_literal

#: The key of a store without a grade anywhere (a customer with no store has none: null).
UNGRADED = "ungraded"


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    probe = con.sql(f"SELECT * FROM {relation} LIMIT 0")
    assert probe is not None  # a SELECT always gives a relation
    return set(probe.columns)


def _grades(con: duckdb.DuckDBPyConnection) -> None:
    """Register `grades` (store_id, grade): the store file's grade, else the warehouse's."""
    from quanwang.channels.models import Store  # the channels app builds on campaigns

    filed = list(Store.objects.exclude(grade="").values_list("store_id", "grade"))
    con.register(
        "filed_grades",
        pa.table(
            {
                "store_id": pa.array([s for s, _g in filed], pa.string()),
                "grade": pa.array([g for _s, g in filed], pa.string()),
            }
        ),
    )
    stores = Warehouse().relation("stores")
    warehouse = (
        f"SELECT CAST(store_id AS VARCHAR) AS store_id, CAST(grade AS VARCHAR) AS grade "
        f"FROM {stores} WHERE grade IS NOT NULL AND grade <> ''"
        if "grade" in _columns(con, stores)
        else "SELECT NULL::VARCHAR AS store_id, NULL::VARCHAR AS grade WHERE false"
    )
    con.execute(
        f"""CREATE TEMP TABLE grades AS
            SELECT coalesce(f.store_id, w.store_id) AS store_id,
                   coalesce(f.grade, w.grade) AS grade
            FROM filed_grades f FULL OUTER JOIN ({warehouse}) w USING (store_id)"""
    )


def channel_strata(*, campaign: Campaign) -> pa.Table | None:
    """(subscriber_id, store_id, store_grade, grid_type) of every frozen customer of the
    campaign (the module says how); None when the campaign has neither a task step nor a
    grid with a type. `store_grade` is null without a store, `grid_type` without a type."""
    audience = f"read_parquet({sql_literal(campaign.audience_path)})"
    steps = task_steps(campaign.pk)
    con = duckdb.connect()
    try:
        grids = Warehouse().relation("grids")
        typed = "grid_type" in _columns(con, grids)
        if not steps and not typed:
            return None
        grid_types = (
            f"SELECT DISTINCT CAST(grid_id AS VARCHAR) AS grid_id, "
            f"CAST(grid_type AS VARCHAR) AS grid_type FROM {grids} WHERE grid_type IS NOT NULL"
            if typed
            else "SELECT NULL::VARCHAR AS grid_id, NULL::VARCHAR AS grid_type WHERE false"
        )
        plans = (
            " UNION ALL ".join(
                f"SELECT {rank} AS step_rank, subscriber_id, CAST(store_id AS VARCHAR) AS "
                f"store_id FROM read_parquet({sql_literal(str(step.plan))})"
                for rank, step in enumerate(steps)
            )
            if steps
            else "SELECT 0 AS step_rank, NULL::VARCHAR AS subscriber_id, "
            "NULL::VARCHAR AS store_id WHERE false"
        )
        _grades(con)
        seed = int(campaign.seed)
        relation = con.sql(
            f"""
            WITH aud AS (SELECT subscriber_id, grid_id, in_control FROM {audience}),
            planned AS (
                SELECT subscriber_id, store_id FROM ({plans})
                QUALIFY row_number() OVER (PARTITION BY subscriber_id ORDER BY step_rank) = 1),
            treated AS (
                SELECT a.subscriber_id, a.grid_id, p.store_id
                FROM aud a LEFT JOIN planned p USING (subscriber_id)
                WHERE NOT a.in_control),
            mix AS (
                SELECT grid_id, store_id, n,
                       sum(n) OVER (PARTITION BY grid_id ORDER BY store_id NULLS LAST
                                    ROWS UNBOUNDED PRECEDING) AS upto,
                       sum(n) OVER (PARTITION BY grid_id) AS total
                FROM (SELECT grid_id, store_id, count(*) AS n FROM treated GROUP BY ALL)),
            control AS (
                SELECT subscriber_id, grid_id,
                       row_number() OVER (PARTITION BY grid_id
                                          ORDER BY hash({seed}, subscriber_id), subscriber_id)
                           - 1 AS position,
                       count(*) OVER (PARTITION BY grid_id) AS size
                FROM aud WHERE in_control),
            dealt AS (
                SELECT c.subscriber_id, m.store_id
                FROM control c JOIN mix m
                  ON m.grid_id IS NOT DISTINCT FROM c.grid_id
                 AND (c.position + 0.5) * m.total / c.size >= m.upto - m.n
                 AND (c.position + 0.5) * m.total / c.size < m.upto),
            stores AS (
                SELECT subscriber_id, store_id FROM treated
                UNION ALL SELECT subscriber_id, store_id FROM dealt)
            SELECT a.subscriber_id, s.store_id,
                   CASE WHEN s.store_id IS NULL THEN NULL
                        ELSE coalesce(g.grade, '{UNGRADED}') END AS store_grade,
                   t.grid_type
            FROM aud a
            LEFT JOIN stores s USING (subscriber_id)
            LEFT JOIN grades g ON g.store_id = s.store_id
            LEFT JOIN ({grid_types}) t ON t.grid_id = a.grid_id
            ORDER BY a.subscriber_id"""
        )
        table = relation.to_arrow_table()
        if not steps:  # no task lists: no store to break down by
            table = table.drop_columns(["store_id", "store_grade"])
        return table
    finally:
        con.close()
