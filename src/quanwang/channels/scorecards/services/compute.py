"""The warehouse's figures of every grid and month, in one pass: Ibis expressions over the
current Parquet files (or any files of the canonical tables), run on DuckDB.

Definitions (every figure is a count or a sum, see `kpis`), for each month M the warehouse
holds (the months of monthly_usage, the newest MAX_MONTHS):

- a customer (a line of `subscribers`) is *in service at the end of M* when it joined on or
  before M's last day and has no churn date or one after it; *at the start of M* when it joined
  before M's first day and has no churn date or one on or after it (the status column is not
  read: the dates say when, as in the insight pipeline);
- joins: join date in M; churns: churn date in M; net adds = joins − churns;
- revenue: the sum of monthly_usage.arpu of M; billed: the customers with a usage row in M;
- mobile customers: in service at the end of M on a prepaid, postpaid or bundle plan (broadband
  and IPTV lines are not phones); on a 5G plan: plans.is_5g;
- with broadband at home (融合): a mobile customer whose own plan is a bundle, or whose family
  group (family_id) has a broadband or bundle line in service at the end of M.

A customer counts in the grid of subscribers.grid_id (the nightly grid assignment writes it);
the warehouse keeps no history of plans or grids, so past months read today's plan and grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np

from quanwang.channels.scorecards.services.kpis import (
    RISK_BAND_COUNT,
    Measure,
    risk_measure,
)
from quanwang.insight.months import Month
from quanwang.insight.summary import RISK_BANDS

#: The trend reaches back this many months at most.
MAX_MONTHS = 12
MOBILE_PLAN_TYPES = ("prepaid", "postpaid", "bundle")
BROADBAND_PLAN_TYPES = ("broadband", "bundle")
BUNDLE = "bundle"
TABLES = ("subscribers", "plans", "monthly_usage", "grids")


@dataclass(frozen=True)
class GridInfo:
    grid_id: str
    name: str
    county_code: str
    manager_employee_no: str


@dataclass
class WarehouseFigures:
    months: list[str]
    grids: dict[str, GridInfo]
    #: grid_id → month → measure → value (warehouse measures, and risk for the risk month).
    figures: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    risk_month: str | None = None


def months_held(con: Any, usage: ir.Table) -> list[str]:
    """The months of monthly_usage (the importer keeps them YYYY-MM), oldest first, the newest
    MAX_MONTHS."""
    newest = usage.select("month").distinct().order_by(ibis.desc("month")).limit(MAX_MONTHS)
    found = con.to_pyarrow(newest).column("month").to_pylist()
    return sorted(str(m) for m in found if m)


#: The customer measures, each kept per line as a bit mask over the months (`customer_masks`).
CUSTOMER_MEASURES = (
    Measure.CUSTOMERS.value,
    Measure.CUSTOMERS_START.value,
    Measure.JOINS.value,
    Measure.CHURNS.value,
    Measure.MOBILE.value,
    Measure.ON_5G.value,
    Measure.WITH_BROADBAND.value,
)


def _months_before(
    day: ir.DateValue, bounds: list[ir.DateValue], *, inclusive: bool
) -> ir.IntegerValue:
    """How many of `bounds` (ascending) lie before `day` (or on it, `inclusive`); a missing day
    lies after them all."""
    hits = [(bound <= day) if inclusive else (bound < day) for bound in bounds]
    counted = sum((hit.cast("int64") for hit in hits), ibis.literal(0, type="int64"))
    return ibis.ifelse(day.isnull(), len(bounds), counted)


def _span(low: ir.IntegerValue, high: ir.IntegerValue) -> ir.IntegerValue:
    """The bits low..high-1 of a month mask (bit i: the i-th month of the list, oldest 0)."""
    one = ibis.literal(1, type="int64")
    return ibis.ifelse(high > low, (one << high) - (one << low), 0)


def placed_lines(subscribers: ir.Table, plans: ir.Table) -> ir.Table:
    """The lines whose dates can be placed in months, with their plan's type and 5G flag:
    subscriber_id, grid_id, join_date, churn_date, family_id, plan_type, is_5g. A churn date
    before the join date cannot be placed: such a line counts nowhere (the scorecards and the
    performance KPIs count the same lines)."""
    subs = subscribers
    return (
        subs.filter(
            subs.join_date.notnull()
            & (subs.churn_date.isnull() | (subs.churn_date >= subs.join_date))
        )
        .select("subscriber_id", "grid_id", "join_date", "churn_date", "plan_id", "family_id")
        .left_join(plans.select("plan_id", "plan_type", "is_5g"), "plan_id")
        .select(
            "subscriber_id", "grid_id", "join_date", "churn_date", "family_id", "plan_type", "is_5g"
        )
    )


def customer_masks(
    tables: Mapping[str, ir.Table], months: list[str], *, grid_id: str | None = None
) -> ir.Table:
    """One row per line of a grid: grid_id, subscriber_id and, for each customer measure, a bit
    mask of the months (bit i: months[i]) in which the line counts. What the figures add up and
    what the drill-down lists, so the two cannot differ.

    Bit masks rather than a row per line and month: each line's months are ranges, found by
    comparing its dates with the months' first and last days, so a million lines take one pass
    and no join over twelve million rows."""
    parsed = [Month.parse(m) for m in months]
    firsts = [ibis.literal(m.first_day) for m in parsed]
    lasts = [ibis.literal(m.last_day) for m in parsed]
    lines = placed_lines(tables["subscribers"], tables["plans"])
    # In service at the end of months[i] ⇔ a <= i < b; at its start ⇔ s <= i < t; joined in it
    # ⇔ a <= i < s; left in it ⇔ b <= i < t.
    a = _months_before(lines.join_date, lasts, inclusive=False)
    b = _months_before(lines.churn_date, lasts, inclusive=False)
    s = _months_before(lines.join_date, firsts, inclusive=True)
    t = _months_before(lines.churn_date, firsts, inclusive=True)
    lines = lines.mutate(
        at_end=_span(a, b), at_start=_span(s, t), joined=_span(a, s), churned=_span(b, t)
    )
    # The months at whose end each family had a broadband or bundle line in service.
    broadband = lines.filter(lines.plan_type.isin(BROADBAND_PLAN_TYPES) & lines.family_id.notnull())
    chosen = lines.grid_id.notnull() if grid_id is None else lines.grid_id == grid_id
    lines = lines.filter(chosen)
    if grid_id is not None:
        # One grid (the drill-down): only its lines' families matter.
        broadband = broadband.filter(broadband.family_id.isin(lines.family_id))
    households = broadband.group_by("family_id").aggregate(household=broadband.at_end.bit_or())
    lines = lines.left_join(households, "family_id").select(lines, households.household)
    is_mobile = lines.plan_type.isin(MOBILE_PLAN_TYPES).fill_null(False)
    mobile = ibis.ifelse(is_mobile, lines.at_end, 0)
    at_home = ibis.ifelse(
        (lines.plan_type == BUNDLE).fill_null(False), mobile, mobile & lines.household.fill_null(0)
    )
    return lines.select(
        "grid_id",
        "subscriber_id",
        **{
            Measure.CUSTOMERS.value: lines.at_end,
            Measure.CUSTOMERS_START.value: lines.at_start,
            Measure.JOINS.value: lines.joined,
            Measure.CHURNS.value: lines.churned,
            Measure.MOBILE.value: mobile,
            Measure.ON_5G.value: ibis.ifelse(lines.is_5g.fill_null(False), mobile, 0),
            Measure.WITH_BROADBAND.value: at_home,
        },
    )


def customer_patterns(tables: Mapping[str, ir.Table], months: list[str]) -> ir.Table:
    """Per grid, how many lines share each combination of month masks: a few hundred rows a
    grid rather than a million lines (`count_months` spreads them over the months)."""
    masks = customer_masks(tables, months)
    return masks.group_by("grid_id", *CUSTOMER_MEASURES).aggregate(lines=masks.count())


def count_months(patterns: Any, months: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """grid_id → month → customer measure → lines, from `customer_patterns`' Arrow table: for
    each measure and month, the lines of the patterns whose mask has the month's bit."""
    grids = patterns.column("grid_id").to_pylist()
    codes = sorted(set(grids))
    place = {code: index for index, code in enumerate(codes)}
    where = np.fromiter((place[g] for g in grids), dtype=np.int64, count=len(grids))
    lines = patterns.column("lines").to_numpy().astype(np.int64)
    counted: dict[str, dict[str, dict[str, float]]] = {
        code: {month: {} for month in months} for code in codes
    }
    for measure in CUSTOMER_MEASURES:
        masks = patterns.column(measure).to_numpy().astype(np.int64)
        for bit, month in enumerate(months):
            has = (masks >> bit) & 1
            totals = np.bincount(where, weights=lines * has, minlength=len(codes))
            for index, code in enumerate(codes):
                counted[code][month][measure] = int(totals[index])
    return counted


def billed_lines(
    tables: Mapping[str, ir.Table], months: list[str], *, grid_id: str | None = None
) -> ir.Table:
    """The usage rows of the grids' customers in `months`: grid_id, month, subscriber_id, arpu."""
    usage = tables["monthly_usage"]
    usage = usage.filter(usage.month.isin(months)).select("subscriber_id", "month", "arpu")
    subs = tables["subscribers"]
    chosen = subs.grid_id.notnull() if grid_id is None else subs.grid_id == grid_id
    grids = subs.filter(chosen).select("subscriber_id", "grid_id")
    return usage.join(grids, "subscriber_id").select("grid_id", "month", "subscriber_id", "arpu")


def revenue_months(tables: Mapping[str, ir.Table], months: list[str]) -> ir.Table:
    """Per grid and month: billed revenue (Σ arpu) and the customers billed."""
    billed = billed_lines(tables, months)
    return billed.group_by("grid_id", "month").aggregate(
        **{
            Measure.REVENUE.value: billed.arpu.sum().cast("float64"),
            Measure.BILLED.value: billed.count(),
        }
    )


def risk_band(churn_risk: ir.FloatingValue) -> ir.IntegerValue:
    """The insight band of a churn probability (insight.summary.RISK_BANDS)."""
    return ibis.cases(
        *[(churn_risk < upper, index) for index, upper in enumerate(RISK_BANDS)],
        else_=len(RISK_BANDS),
    )


def risk_mix(wide: ir.Table) -> ir.Table:
    """Per grid: the customers with a churn score, and how many fall in each insight band."""
    scored = wide.filter(wide.grid_id.notnull() & wide.churn_risk.notnull())
    scored = scored.mutate(band=risk_band(scored.churn_risk))
    return scored.group_by("grid_id").aggregate(
        **{Measure.SCORED.value: scored.count()},
        **{risk_measure(b): scored.count(where=scored.band == b) for b in range(RISK_BAND_COUNT)},
    )


def compute(
    *, files: Mapping[str, Path | None], wide: Path | None = None, risk_month: str | None = None
) -> WarehouseFigures:
    """The figures of every grid for the months the warehouse holds. `files`: the Parquet file
    of each table of TABLES (None: not loaded yet); `wide`: the folder of the newest insight
    snapshot's wide table, whose churn scores give the risk mix of `risk_month`."""
    con = ibis.duckdb.connect()
    try:
        return _compute(con, files=files, wide=wide, risk_month=risk_month)
    finally:
        con.disconnect()


def _compute(
    con: Any, *, files: Mapping[str, Path | None], wide: Path | None, risk_month: str | None
) -> WarehouseFigures:
    missing = [name for name in TABLES if files.get(name) is None]
    if "grids" in missing:
        return WarehouseFigures(months=[], grids={})
    grids = _grid_info(con, files["grids"])
    if missing:
        return WarehouseFigures(months=[], grids=grids)
    tables = {name: con.read_parquet(str(files[name]), table_name=name) for name in TABLES}
    months = months_held(con, tables["monthly_usage"])
    result = WarehouseFigures(months=months, grids=grids)
    if not months:
        return result
    result.figures = count_months(con.to_pyarrow(customer_patterns(tables, months)), months)
    _collect(result, con.to_pyarrow(revenue_months(tables, months)).to_pylist())
    if wide is not None and risk_month in months:
        table = con.read_parquet(str(wide / "*.parquet"), table_name="wide")
        if "churn_risk" in table.columns:
            rows = con.to_pyarrow(risk_mix(table)).to_pylist()
            _collect(result, [row | {"month": risk_month} for row in rows])
            result.risk_month = risk_month
    return result


def _collect(result: WarehouseFigures, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        grid, month = row.pop("grid_id"), row.pop("month")
        into = result.figures.setdefault(str(grid), {}).setdefault(str(month), {})
        for name, value in row.items():
            into[name] = _plain(value)


def _plain(value: Any) -> float:
    """Counts stay whole; sums are rounded to fen (the same totals whatever the order)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return round(float(value), 2)


def _grid_info(con: Any, path: Path | None) -> dict[str, GridInfo]:
    table = con.read_parquet(str(path), table_name="grid_info").select(
        "grid_id", "name", "county_code", "manager_employee_no"
    )
    return {
        str(row["grid_id"]): GridInfo(
            grid_id=str(row["grid_id"]),
            name=str(row["name"] or row["grid_id"]),
            county_code=str(row["county_code"] or ""),
            manager_employee_no=str(row["manager_employee_no"] or ""),
        )
        for row in con.to_pyarrow(table).to_pylist()
    }
