"""Helpers the built-in KPIs share: the months a build covers, fact rows in the base shape, and
base values as the sums of fact rows (so a drill-down lists exactly what a value adds up)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from quanwang.performance.choices import Grain
from quanwang.performance.kpis.definitions import BuildContext, FactTables, KpiDefinition
from quanwang.performance.periods import parse


@dataclass(frozen=True)
class MonthSpan:
    month: str
    first: dt.date
    last: dt.date
    #: The day its facts are dated on: the month's last day, or the as-of day while it runs.
    day: dt.date


def spans(ctx: BuildContext) -> list[MonthSpan]:
    """The months of `ctx` that have begun by its as-of day, oldest first."""
    found = []
    for month in sorted(set(ctx.months)):
        period = parse(month)
        if period.start <= ctx.as_of:
            found.append(MonthSpan(month, period.start, period.end, min(period.end, ctx.as_of)))
    return found


def months_table(ctx: BuildContext) -> ir.Table:
    """One row per month of `ctx`: month, first, last, day (an in-memory table: the same on
    DuckDB and Spark)."""
    rows = spans(ctx) or [
        MonthSpan("0000-01", dt.date(1, 1, 1), dt.date(1, 1, 1), dt.date(1, 1, 1))
    ]
    table = ibis.memtable(
        {
            "m_month": [s.month for s in rows],
            "m_first": [s.first for s in rows],
            "m_last": [s.last for s in rows],
            "m_day": [s.day for s in rows],
        },
        schema={"m_month": "string", "m_first": "date", "m_last": "date", "m_day": "date"},
    )
    return table if spans(ctx) else table.filter(ibis.literal(False))


def in_window(day: ir.DateValue, ctx: BuildContext) -> ir.BooleanValue:
    """Whether a dated fact falls in the months of `ctx`, by its as-of day."""
    found = spans(ctx)
    if not found:
        return ibis.literal(False)
    return ibis.or_(*[day.between(s.first, s.day) for s in found])


def fact_rows(
    table: ir.Table,
    *,
    grain: Grain,
    key: ir.Value,
    org_unit: ir.Value,
    day: ir.Value,
    numerator: ir.Value,
    denominator: ir.Value | None = None,
    **detail: Any,
) -> ir.Table:
    """`table` as fact rows: the base columns, then the detail columns."""
    return table.select(
        grain=ibis.literal(grain.value),
        key=key.cast("string"),
        org_unit=org_unit.cast("string"),
        day=day.cast("date"),
        numerator=numerator.cast("float64"),
        denominator=(
            ibis.null().cast("float64") if denominator is None else denominator.cast("float64")
        ),
        **detail,
    )


def sums(facts: ir.Table) -> ir.Table:
    """Base values: the fact rows' numerators and denominators added up per grain, key, unit
    and day (a SUM KPI's denominators stay NULL)."""
    return facts.group_by(["grain", "key", "org_unit", "day"]).aggregate(
        numerator=facts.numerator.sum().cast("float64"),
        denominator=facts.denominator.sum().cast("float64"),
    )


def from_facts(
    code: str, facts: Callable[[FactTables, BuildContext], ir.Table], **fields: Any
) -> KpiDefinition:
    """A built-in KPI whose base values are its fact rows' sums, so its drill-down lists
    exactly the rows its values add up."""
    return KpiDefinition(code=code, facts=facts, build=lambda t, c: sums(facts(t, c)), **fields)


def flag(condition: ir.BooleanValue) -> ir.IntegerValue:
    """1 where `condition` holds, else 0 (NULL counts as not)."""
    return ibis.ifelse(condition.fill_null(False), 1, 0)
