"""Rolling the base values up: base → every ancestor org unit, base → stores and accounts, base
→ staff by who held the grid, store or account on the fact's day, months → quarters and years.

Written as Ibis expressions over Ibis tables, so the same code runs wherever the base values
are. The computation runs it on an embedded DuckDB: its input is the base values already
computed on the chosen engine, thousands to a few million rows, where a Spark job's start
would cost more than the work.

Every level adds numerators and denominators separately and divides last (a ratio of sums,
never an average of ratios): a county's churn rate is its grids' churned customers over their
customers, whatever the grids' sizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.performance.choices import Grain
from quanwang.performance.periods import Period

#: The base values with their month (what compute keeps per version, for reuse).
BASE_SCHEMA = pa.schema(
    [
        ("kpi", pa.string()),
        ("grain", pa.string()),
        ("key", pa.string()),
        ("org_unit", pa.string()),
        ("day", pa.date32()),
        ("month", pa.string()),
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),
    ]
)
_MONTHLY = ("kpi", "grain", "key", "org_unit", "month", "numerator", "denominator")
_OUT = ("kpi", "grain", "key", "org_unit", "period", "numerator", "denominator")


def ancestors_table(paths: Iterable[tuple[str, str]]) -> pa.Table:
    """code → each unit on its path (itself included), from (code, path) pairs."""
    codes, ancestors = [], []
    for code, path in paths:
        for ancestor in path.strip("/").split("/"):
            codes.append(code)
            ancestors.append(ancestor)
    return pa.table(
        {"code": pa.array(codes, pa.string()), "ancestor": pa.array(ancestors, pa.string())}
    )


def periods_table(periods: Sequence[Period]) -> pa.Table:
    """month → each period to publish that holds it."""
    months, codes = [], []
    for period in periods:
        for month in period.months:
            months.append(month)
            codes.append(period.code)
    return pa.table(
        {"p_month": pa.array(months, pa.string()), "period": pa.array(codes, pa.string())}
    )


def _sums(table: ir.Table, by: Sequence[str]) -> ir.Table:
    return table.group_by(list(by)).aggregate(
        org_unit=table.org_unit.max(),
        numerator=table.numerator.sum(),
        denominator=table.denominator.sum(),
    )


def monthly(
    base: ir.Table, *, ancestors: ir.Table, intervals: ir.Table, staff: ir.Table
) -> ir.Table:
    """One row per (kpi, grain, key, month) at every grain (_MONTHLY columns)."""
    # Units: every base row counts in its unit and each unit above.
    placed = base.join(ancestors, base.org_unit == ancestors.code)
    units = placed.group_by(["kpi", placed.ancestor.name("key"), "month"]).aggregate(
        numerator=placed.numerator.sum(), denominator=placed.denominator.sum()
    )
    units = units.mutate(grain=ibis.literal(Grain.ORG_UNIT.value), org_unit=units["key"])
    # Stores and accounts: their own rows.
    keyed = base.filter(base.grain.isin([Grain.STORE.value, Grain.ACCOUNT.value]))
    keyed = _sums(keyed, ["kpi", "grain", "key", "month"])
    # Staff: the holder of the grid, store or account on the fact's day (attribution.py) …
    held = base.filter(base.grain != Grain.STAFF.value)
    joined = held.join(
        intervals,
        [
            held.grain == intervals.grain,
            held["key"] == intervals["key"],
            intervals["start"].isnull() | (held["day"] >= intervals["start"]),
            intervals["end"].isnull() | (held["day"] <= intervals["end"]),
        ],
    )
    by_holding = joined.select(
        kpi=joined.kpi,
        key=joined.employee_no,
        org_unit=joined.staff_unit,
        month=joined.month,
        numerator=joined.numerator,
        denominator=joined.denominator,
    )
    # … and what a person did themselves (a visit logged), under their staff record's unit.
    own = base.filter(base.grain == Grain.STAFF.value)
    own = own.left_join(staff, own["key"] == staff.employee_no)
    by_self = own.select(
        kpi=own.kpi,
        key=own["key"],
        org_unit=own.staff_unit.fill_null(own.org_unit),
        month=own.month,
        numerator=own.numerator,
        denominator=own.denominator,
    )
    people = _sums(by_holding.union(by_self), ["kpi", "key", "month"])
    people = people.mutate(grain=ibis.literal(Grain.STAFF.value))
    return ibis.union(units.select(*_MONTHLY), keyed.select(*_MONTHLY), people.select(*_MONTHLY))


def by_period(months: ir.Table, *, periods: ir.Table, stock_kpis: Sequence[str]) -> ir.Table:
    """Months → the periods holding them: a flow adds its months up; a stock is read at the
    period's last month with figures. With the value (numerator, or numerator / denominator,
    NULL when the denominator is 0)."""
    spread = months.join(periods, months.month == periods.p_month)
    stock = list(stock_kpis)
    flows = spread.filter(~spread.kpi.isin(stock)) if stock else spread
    flow = _sums(flows, ["kpi", "grain", "key", "period"])
    if stock:
        stocks = spread.filter(spread.kpi.isin(stock))
        stocks = stocks.mutate(
            last=stocks.month.max().over(
                group_by=[stocks.kpi, stocks.grain, stocks.key, stocks.period]
            )
        )
        stocks = stocks.filter(stocks.month == stocks["last"])
        result = ibis.union(flow.select(*_OUT), stocks.select(*_OUT))
    else:
        result = flow.select(*_OUT)
    value = ibis.cases(
        (result.denominator.isnull(), result.numerator),
        (result.denominator == 0, ibis.null("float64")),
        else_=result.numerator / result.denominator,
    )
    return result.mutate(value=value.cast("float64"))


def roll_up(
    base: pa.Table,
    *,
    ancestors: pa.Table,
    intervals: pa.Table,
    staff: pa.Table,
    periods: Sequence[Period],
    stock_kpis: Sequence[str],
    con: Any | None = None,
) -> pa.Table:
    """The published values (store.VALUE_SCHEMA's columns) from the base values."""
    backend = con or ibis.duckdb.connect()

    def table(name: str, content: pa.Table) -> ir.Table:
        # Registered as Arrow views (no copy); ibis's create_table emits a DROP statement
        # without the table's name with this sqlglot (see insight.engines.materialise).
        backend.con.register(name, content)
        return backend.table(name)

    expr = by_period(
        monthly(
            table("_base", base.cast(BASE_SCHEMA)),
            ancestors=table("_ancestors", ancestors),
            intervals=table("_intervals", intervals),
            staff=table("_staff", staff),
        ),
        periods=table("_periods", periods_table(periods)),
        stock_kpis=stock_kpis,
    )
    return backend.to_pyarrow(expr.order_by(["kpi", "grain", "period", "key"]))
