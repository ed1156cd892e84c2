"""What the warehouse knows about one store: its monthly sales and traffic (store page, stage
criteria). Small reads of one store's rows; the grading reads all stores at once instead."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from quanwang.data.warehouse import Warehouse


@dataclass(frozen=True)
class MonthSales:
    month: str
    units: int
    revenue: float
    footfall: int | None
    buyers: int | None

    @property
    def conversion(self) -> float | None:
        if not self.footfall or self.buyers is None:
            return None
        return self.buyers / self.footfall


def monthly_sales(
    *, store_id: str, months: int = 12, warehouse: Warehouse | None = None
) -> list[MonthSales]:
    """The store's last `months` months with sales or traffic, oldest first."""
    store = warehouse or Warehouse()
    sql = f"""
        WITH s AS (
            SELECT month, sum(units) AS units, sum(CAST(revenue AS DECIMAL(18, 2))) AS revenue
            FROM {store.relation("store_sales")} WHERE store_id = $store GROUP BY month
        ), t AS (
            SELECT month, sum(footfall) AS footfall, sum(buyers) AS buyers
            FROM {store.relation("store_traffic")} WHERE store_id = $store GROUP BY month
        )
        SELECT coalesce(s.month, t.month) AS month, coalesce(s.units, 0), coalesce(s.revenue, 0),
               t.footfall, t.buyers
        FROM s FULL JOIN t ON s.month = t.month
        ORDER BY month DESC LIMIT $months
    """
    con = duckdb.connect()
    try:
        rows = con.execute(sql, {"store": store_id, "months": months}).fetchall()
    finally:
        con.close()
    return [
        MonthSales(
            month=str(m),
            units=int(u or 0),
            revenue=float(r or 0),
            footfall=None if f is None else int(f),
            buyers=None if b is None else int(b),
        )
        for m, u, r, f, b in reversed(rows)
    ]
