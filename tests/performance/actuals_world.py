"""A small world for the actuals tests: two grids (CA-1-G1, CB-1-G1), a store in each, daily
sales and monthly customer figures as Parquet, and four KPIs built over them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from quanwang.performance.actuals.compute import Inputs
from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime
from quanwang.performance.kpis.definitions import BuildContext, KpiDefinition

SALES = pa.schema(
    [
        ("sale_id", pa.int64()),
        ("grid_id", pa.string()),
        ("store_id", pa.string()),
        ("sale_date", pa.date32()),
        ("amount", pa.float64()),
    ]
)
MONTHLY = pa.schema(
    [
        ("grid_id", pa.string()),
        ("month", pa.string()),
        ("customers", pa.int64()),
        ("churned", pa.int64()),
    ]
)


def _month_of(table: Any, name: str) -> Any:
    if name == "sales":
        day = table.sale_date
        return day.year().cast("string") + "-" + day.month().cast("string").lpad(2, "0")
    if name == "customer_months":
        return table.month
    return None


def _month_end(month: str) -> dt.date:
    year, number = int(month[:4]), int(month[5:])
    first_next = dt.date(year + number // 12, number % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _revenue(tables: Any, ctx: BuildContext) -> Any:
    s = tables["sales"]
    g = s.group_by([s.grid_id, s.sale_date]).aggregate(numerator=s.amount.sum())
    return g.select(
        grain=ibis.literal(Grain.ORG_UNIT.value),
        key=g.grid_id,
        org_unit=g.grid_id,
        day=g.sale_date,
        numerator=g.numerator,
        denominator=ibis.null("float64"),
    )


def _store_sales(tables: Any, ctx: BuildContext) -> Any:
    s = tables["sales"]
    g = s.group_by([s.store_id, s.grid_id, s.sale_date]).aggregate(numerator=s.amount.sum())
    return g.select(
        grain=ibis.literal(Grain.STORE.value),
        key=g.store_id,
        org_unit=g.grid_id,
        day=g.sale_date,
        numerator=g.numerator,
        denominator=ibis.null("float64"),
    )


def _monthly_day(t: Any, ctx: BuildContext) -> Any:
    # A monthly fact is dated on its month's last day, the running month on the business day.
    year = t.month.left(4).cast("int32")
    month = t.month.right(2).cast("int32")
    first = ibis.date(year, month, 1)
    end = (first + ibis.interval(months=1)) - ibis.interval(days=1)
    return ibis.least(end, ibis.literal(ctx.as_of))


def _customers(tables: Any, ctx: BuildContext) -> Any:
    t = tables["customer_months"]
    return t.select(
        grain=ibis.literal(Grain.ORG_UNIT.value),
        key=t.grid_id,
        org_unit=t.grid_id,
        day=_monthly_day(t, ctx),
        numerator=t.customers.cast("float64"),
        denominator=ibis.null("float64"),
    )


def _churn(tables: Any, ctx: BuildContext) -> Any:
    t = tables["customer_months"]
    return t.select(
        grain=ibis.literal(Grain.ORG_UNIT.value),
        key=t.grid_id,
        org_unit=t.grid_id,
        day=_monthly_day(t, ctx),
        numerator=t.churned.cast("float64"),
        denominator=t.customers.cast("float64"),
    )


def definitions() -> dict[str, KpiDefinition]:
    def kpi(
        code: str,
        aggregation: Aggregation,
        over: OverTime,
        grains: set[Grain],
        inputs: str,
        build: Any,
    ) -> KpiDefinition:
        return KpiDefinition(
            code=code,
            name=code,
            unit="",
            direction=Direction.HIGHER,
            aggregation=aggregation,
            over_time=over,
            grains=frozenset(grains),
            inputs=(inputs,),
            build=build,
        )

    return {
        "revenue": kpi(
            "revenue",
            Aggregation.SUM,
            OverTime.FLOW,
            {Grain.ORG_UNIT, Grain.STAFF},
            "sales",
            _revenue,
        ),
        "store_sales": kpi(
            "store_sales",
            Aggregation.SUM,
            OverTime.FLOW,
            {Grain.STORE, Grain.STAFF},
            "sales",
            _store_sales,
        ),
        "customers": kpi(
            "customers",
            Aggregation.SUM,
            OverTime.STOCK,
            {Grain.ORG_UNIT},
            "customer_months",
            _customers,
        ),
        "churn_rate": kpi(
            "churn_rate",
            Aggregation.RATIO,
            OverTime.FLOW,
            {Grain.ORG_UNIT},
            "customer_months",
            _churn,
        ),
    }


class World:
    """The fact files of the world; `write` replaces them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.sales: list[dict[str, Any]] = []
        self.months: list[dict[str, Any]] = []

    def add_sale(self, grid: str, store: str, day: dt.date, amount: float) -> None:
        self.sales.append(
            {
                "sale_id": len(self.sales) + 1,
                "grid_id": grid,
                "store_id": store,
                "sale_date": day,
                "amount": amount,
            }
        )

    def add_month(self, grid: str, month: str, customers: int, churned: int) -> None:
        self.months.append(
            {"grid_id": grid, "month": month, "customers": customers, "churned": churned}
        )

    def write(self) -> None:
        pq.write_table(
            pa.Table.from_pylist(self.sales, schema=SALES), self.folder / "sales.parquet"
        )
        pq.write_table(
            pa.Table.from_pylist(self.months, schema=MONTHLY),
            self.folder / "customer_months.parquet",
        )

    def inputs(self, catalogue: dict[str, KpiDefinition] | None = None) -> Inputs:
        self.write()
        folder = self.folder

        def open_tables(con: Any) -> dict[str, Any]:
            return {
                name: con.read_parquet(str(folder / f"{name}.parquet"), table_name=name)
                for name in ("sales", "customer_months")
            }

        return Inputs(
            catalogue=catalogue or definitions(), open_tables=open_tables, month_of=_month_of
        )


def standard(folder: Path) -> World:
    """Sales in Oct–Dec 2024 in both grids, customer months Jan–Dec 2024."""
    world = World(folder)
    for month in range(1, 13):
        key = f"2024-{month:02d}"
        world.add_month("CA-1-G1", key, 100 + month, month % 3)
        world.add_month("CB-1-G1", key, 300 + month, 2)
    for day in range(1, 21):
        world.add_sale("CA-1-G1", "S-A", dt.date(2024, 12, day), 10.0)
        world.add_sale("CB-1-G1", "S-B", dt.date(2024, 12, day), 5.0)
        world.add_sale("CA-1-G1", "S-A", dt.date(2024, 11, day), 1.0)
        world.add_sale("CB-1-G1", "S-B", dt.date(2024, 10, day), 2.0)
    return world
