"""Every store's and every grid's funnel of each month, in one pass: Ibis over the warehouse's
current store_traffic and stores files (run on DuckDB), then the decomposition of each month's
change in numpy (decompose.shapley_fen).

A grid's funnel adds up the counts of the stores whose stores.grid_id is the grid (the nightly
grid assignment writes it), then reads its factors from the sums: its footfall is its stores'
footfall, its conversion all their buyers over all their visitors. So a grid's contributions
are not the sum of its stores' (a shift of visitors between stores with different conversion
shows in the grid's conversion). A store with no traffic row in the month before has no
decomposition (nothing to compare with); a row of zeros is a month with nothing sold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np

from quanwang.channels.funnel.services.decompose import shapley_fen
from quanwang.insight.months import MONTH, Month

#: The decomposition reaches back this many months (each needs the month before it too).
MAX_MONTHS = 12
TABLES = ("store_traffic", "stores")
COUNTS = (
    "footfall",
    "buyers",
    "transactions",
    "revenue",
    "referrals",
    "referred_buyers",
    "referred_transactions",
    "referred_revenue",
)
MONEY = {"revenue", "referred_revenue"}


@dataclass
class FunnelFigures:
    """Counts (Counts field order, revenue in fen) and contributions (FACTORS order, fen; None
    without a month before) of each store and grid by month."""

    months: list[str]
    #: entity → month → (counts, contributions or None)
    stores: dict[str, dict[str, tuple[list[int], list[int] | None]]] = field(default_factory=dict)
    grids: dict[str, dict[str, tuple[list[int], list[int] | None]]] = field(default_factory=dict)
    store_grid: dict[str, str] = field(default_factory=dict)


def compute(*, files: Mapping[str, Path | None]) -> FunnelFigures:
    """The funnel of every store and grid for the newest MAX_MONTHS months of store_traffic.
    `files`: the current Parquet file of each table of TABLES (None: not loaded yet)."""
    if files.get("store_traffic") is None:
        return FunnelFigures(months=[])
    con = ibis.duckdb.connect()
    try:
        traffic = con.read_parquet(str(files["store_traffic"]), table_name="store_traffic")
        stores = (
            con.read_parquet(str(files["stores"]), table_name="stores")
            if files.get("stores") is not None
            else None
        )
        months = _months(con, traffic)
        if not months:
            return FunnelFigures(months=[])
        wanted = [str(Month.parse(months[0]).shift(-1)), *months]
        store_rows, grid_rows = _rows(traffic, stores, wanted)
        found = FunnelFigures(months=months)
        store_table = con.to_pyarrow(store_rows)
        grid_table = con.to_pyarrow(grid_rows)
    finally:
        con.disconnect()
    found.stores = _decompose(store_table, "store_id", months)
    found.grids = _decompose(grid_table, "grid_id", months)
    keys = store_table.column("store_id").to_pylist()
    grid_ids = store_table.column("grid_id").to_pylist()
    found.store_grid = {str(s): str(g) for s, g in zip(keys, grid_ids, strict=True) if g}
    return found


def _months(con: Any, traffic: ir.Table) -> list[str]:
    newest = traffic.select("month").distinct().order_by(ibis.desc("month")).limit(MAX_MONTHS)
    found = con.to_pyarrow(newest).column("month").to_pylist()
    return sorted(str(m) for m in found if m and MONTH.match(str(m)))


def _rows(traffic: ir.Table, stores: ir.Table | None, months: list[str]) -> tuple[Any, Any]:
    picked = traffic.filter(traffic.month.isin(months))
    values = {
        name: (
            (picked[name].fill_null(0) * 100).round().cast("int64")
            if name in MONEY
            else picked[name].fill_null(0).cast("int64")
        )
        for name in COUNTS
    }
    rows = picked.select("store_id", "month", **values)
    if stores is not None:
        grid_of = stores.select("store_id", grid_id=stores.grid_id)
        rows = rows.left_join(grid_of, "store_id").select(
            "store_id", "month", *COUNTS, grid_id=grid_of.grid_id
        )
    else:
        rows = rows.mutate(grid_id=ibis.null().cast("string"))
    grids = (
        rows.filter(rows.grid_id.notnull())
        .group_by(["grid_id", "month"])
        .aggregate(**{name: rows[name].sum() for name in COUNTS})
    )
    return rows.order_by(["store_id", "month"]), grids.order_by(["grid_id", "month"])


def _decompose(
    table: Any, key: str, months: list[str]
) -> dict[str, dict[str, tuple[list[int], list[int] | None]]]:
    if table.num_rows == 0:
        return {}
    ids = np.asarray(table.column(key).to_pylist(), dtype=object)
    month_text = table.column("month").to_pylist()
    index = np.array([Month.parse(str(m)).index for m in month_text], dtype=np.int64)
    counts = np.stack(
        [np.asarray(table.column(name).to_numpy(zero_copy_only=False)) for name in COUNTS], axis=1
    ).astype(np.int64)
    # Rows come ordered by (entity, month): the row before is the month before when it is the
    # same entity one month earlier.
    has_before = np.zeros(len(ids), dtype=bool)
    has_before[1:] = (ids[1:] == ids[:-1]) & (index[1:] == index[:-1] + 1)
    later = np.flatnonzero(has_before)
    contributions = shapley_fen(counts[later - 1], counts[later])
    by_row: dict[int, list[int]] = {
        int(row): values for row, values in zip(later, contributions, strict=True)
    }
    shown = set(months)
    result: dict[str, dict[str, tuple[list[int], list[int] | None]]] = {}
    for row, (entity, month) in enumerate(zip(ids.tolist(), month_text, strict=True)):
        if month not in shown:
            continue
        result.setdefault(str(entity), {})[str(month)] = (
            counts[row].tolist(),
            by_row.get(row),
        )
    return result
