"""The facts behind a figure: the rows a grid's measure of a month counts or adds up.

Customer measures list the lines `compute.customer_masks` counts, revenue lists the usage rows
`compute.billed_lines` adds up, and the risk mix the scored rows of the snapshot: the same
expressions as the figures, over the same files (those the kept scorecards were read from),
so the rows listed are the rows counted. Campaign, visit and commission measures come from the
parts that own them, where they list their lines (`OPERATIONS_FACTS`).

Names and numbers are masked: revealing one is the customer page's (audited) business.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from quanwang.channels.scorecards.services.compute import (
    CUSTOMER_MEASURES,
    TABLES,
    billed_lines,
    customer_masks,
    risk_band,
)
from quanwang.channels.scorecards.services.kept import Scorecards
from quanwang.channels.scorecards.services.kpis import (
    HIGH_RISK_FROM_BAND,
    RISK_BAND_COUNT,
    Measure,
    risk_measure,
)
from quanwang.core.choices import PiiKind
from quanwang.core.masking import mask
from quanwang.data.arrow import table_schema
from quanwang.data.warehouse import Warehouse, sql_literal
from quanwang.insight.duck import cursor

#: The most rows a page shows; the export has them all.
PAGE_ROWS = 200
#: A measure made of the high-risk bands (the drill-down of the high-risk share).
HIGH_RISK = "high_risk"

#: Measures listed by another part, where it exposes its lines: measure → (module, function).
#: The function is called as fn(*, grid_id=..., month=...) and returns a list of dicts (the
#: header is their keys, in order); a part without it lists nothing here.
OPERATIONS_FACTS: dict[str, tuple[str, str]] = {
    Measure.TARGETED.value: ("quanwang.campaigns.services.channel_figures", "targeted_lines"),
    Measure.ACCEPTED.value: ("quanwang.campaigns.services.channel_figures", "accepted_lines"),
    Measure.TASKS_TOTAL.value: ("quanwang.campaigns.services.channel_figures", "task_lines"),
    Measure.TASKS_DONE.value: ("quanwang.campaigns.services.channel_figures", "task_lines_done"),
    Measure.OFFER_COST.value: ("quanwang.campaigns.services.channel_figures", "offer_cost_lines"),
    Measure.VISITS_DONE.value: ("quanwang.channels.visits.services.attainment", "visit_lines"),
    Measure.VISITS_PLANNED.value: ("quanwang.channels.visits.services.attainment", "plan_lines"),
    Measure.COMMISSION.value: ("quanwang.channels.commissions.services.by_grid", "paid_lines"),
}


def drillable() -> set[str]:
    """Every measure with a drill-down page."""
    warehouse = {*CUSTOMER_MEASURES, Measure.REVENUE.value, Measure.BILLED.value}
    risk = {Measure.SCORED.value, HIGH_RISK, *(risk_measure(b) for b in range(RISK_BAND_COUNT))}
    return warehouse | risk | set(OPERATIONS_FACTS)


def figure(*, scorecards: Scorecards, grid_id: str, month: str, measure: str) -> float:
    """The kept figure the facts of `measure` make up."""
    figures = scorecards.grid_month(grid_id, month)
    if measure == HIGH_RISK:
        bands = range(HIGH_RISK_FROM_BAND, RISK_BAND_COUNT)
        return sum(float(figures.get(risk_measure(b), 0)) for b in bands)
    return float(figures.get(measure, 0))


@dataclass
class Facts:
    measure: str
    header: list[str | Promise]
    rows: list[list[Any]]
    #: Rows in all (the figure counts these); `rows` may hold the first PAGE_ROWS only.
    total: int
    #: The sum of the amount column, where the figure is a sum (revenue, costs).
    amount: float | None = None
    #: The part that owns these facts lists none (yet).
    unavailable: bool = False
    #: Column indexes holding a subscriber ID (linked to the customer page).
    subscriber_columns: list[int] = field(default_factory=list)


def _files(scorecards: Scorecards) -> dict[str, Path]:
    """The files the scorecards were read from, where still on disk; else the current ones (a
    warehouse keeps a few versions: QUANWANG_WAREHOUSE_KEEP)."""
    store = Warehouse()
    chosen: dict[str, Path] = {}
    for name in TABLES:
        kept = Path(scorecards.inputs.get(name, ""))
        if scorecards.inputs.get(name) and kept.is_file():
            chosen[name] = kept
        elif (current := store.read_file(name)) is not None:
            chosen[name] = current
    return chosen


def _unbound() -> dict[str, ir.Table]:
    return {
        name: ibis.table(ibis.Schema.from_pyarrow(table_schema(name)), name=name) for name in TABLES
    }


def _run(
    expr: ir.Table, files: dict[str, Path], *, limit: int | None
) -> tuple[list[str], list[tuple[Any, ...]], int]:
    """Run an expression of the unbound canonical tables on `files`: (columns, the first `limit`
    rows, how many in all). One query: a grid's rows number thousands, not millions."""
    sql = ibis.to_sql(expr, dialect="duckdb")
    views = ", ".join(
        f'"{name}" AS (SELECT * FROM read_parquet({sql_literal(str(path))}))'
        for name, path in files.items()
    )
    query = f"WITH {views} SELECT * FROM ({sql}) AS facts"
    con = cursor()
    relation = con.execute(query)
    columns = [d[0] for d in relation.description or []]
    rows = relation.fetchall()
    return columns, rows if limit is None else rows[:limit], len(rows)


def facts(
    *, scorecards: Scorecards, grid_id: str, month: str, measure: str, limit: int | None = PAGE_ROWS
) -> Facts:
    """The rows behind `measure` of grid `grid_id` in `month` (`limit` of them; None: all)."""
    if measure in CUSTOMER_MEASURES:
        return _customers(scorecards, grid_id, month, measure, limit)
    if measure in (Measure.REVENUE.value, Measure.BILLED.value):
        return _billed(scorecards, grid_id, month, measure, limit)
    if measure in OPERATIONS_FACTS:
        return _operations(grid_id, month, measure, limit)
    return _risk(scorecards, grid_id, month, measure, limit)


def _customers(
    scorecards: Scorecards, grid_id: str, month: str, measure: str, limit: int | None
) -> Facts:
    files = _files(scorecards)
    if month not in scorecards.months or not {"subscribers", "plans"} <= set(files):
        return Facts(measure=measure, header=[], rows=[], total=0)
    tables = _unbound()
    bit = scorecards.months.index(month)
    masks = customer_masks(tables, scorecards.months, grid_id=grid_id)
    counted = masks.filter(((masks[measure] >> bit) & 1) == 1).select("subscriber_id")
    subs, plans = tables["subscribers"], tables["plans"]
    listed = (
        counted.join(subs, "subscriber_id")
        .left_join(plans, subs.plan_id == plans.plan_id)
        .select(
            "subscriber_id",
            subs.msisdn,
            subs.name,
            plan=plans.name,
            join_date=subs.join_date,
            churn_date=subs.churn_date,
        )
        .order_by("subscriber_id")
    )
    _columns, rows, total = _run(listed, files, limit=limit)
    return Facts(
        measure=measure,
        header=[_("Subscriber ID"), _("Number"), _("Name"), _("Plan"), _("Joined"), _("Left")],
        rows=[[r[0], mask(r[1], PiiKind.MSISDN), mask(r[2], PiiKind.NAME), *r[3:]] for r in rows],
        total=total,
        subscriber_columns=[0],
    )


def _billed(
    scorecards: Scorecards, grid_id: str, month: str, measure: str, limit: int | None
) -> Facts:
    files = _files(scorecards)
    if month not in scorecards.months or not {"subscribers", "monthly_usage"} <= set(files):
        return Facts(measure=measure, header=[], rows=[], total=0)
    tables = _unbound()
    lines = billed_lines(tables, [month], grid_id=grid_id)
    subs = tables["subscribers"]
    listed = (
        lines.join(subs, "subscriber_id")
        .select("subscriber_id", subs.msisdn, subs.name, lines.arpu)
        .order_by("subscriber_id")
    )
    _columns, rows, total = _run(listed, files, limit=limit)
    amount = _sum(billed_lines(tables, [month], grid_id=grid_id), "arpu", files)
    return Facts(
        measure=measure,
        header=[_("Subscriber ID"), _("Number"), _("Name"), _("Billed (yuan)")],
        rows=[[r[0], mask(r[1], PiiKind.MSISDN), mask(r[2], PiiKind.NAME), r[3]] for r in rows],
        total=total,
        amount=amount,
        subscriber_columns=[0],
    )


def _sum(expr: ir.Table, column: str, files: dict[str, Path]) -> float:
    _columns, rows, _total = _run(expr.aggregate(total=expr[column].sum()), files, limit=None)
    return round(float(rows[0][0] or 0), 2)


def _risk(
    scorecards: Scorecards, grid_id: str, month: str, measure: str, limit: int | None
) -> Facts:
    wide = scorecards.inputs.get("wide")
    if month != scorecards.risk_month or not wide or not Path(wide).is_dir():
        return Facts(measure=measure, header=[], rows=[], total=0)
    table = ibis.table(
        {"subscriber_id": "string", "grid_id": "string", "churn_risk": "float64"}, name="wide"
    )
    scored = table.filter((table.grid_id == grid_id) & table.churn_risk.notnull())
    band = risk_band(scored.churn_risk)
    if measure == HIGH_RISK:
        scored = scored.filter(band >= HIGH_RISK_FROM_BAND)
    elif measure != Measure.SCORED.value:
        scored = scored.filter(band == int(measure.removeprefix("risk_")))
    listed = scored.select("subscriber_id", "churn_risk").order_by(
        ibis.desc("churn_risk"), "subscriber_id"
    )
    sql = ibis.to_sql(listed, dialect="duckdb")
    source = f"read_parquet({sql_literal(str(Path(wide) / '*.parquet'))})"
    every = cursor().execute(f'WITH "wide" AS (SELECT * FROM {source}) {sql}').fetchall()
    rows, total = (every if limit is None else every[:limit]), len(every)
    return Facts(
        measure=measure,
        header=[_("Subscriber ID"), _("Churn risk")],
        rows=[[r[0], round(float(r[1]), 4)] for r in rows],
        total=total,
        subscriber_columns=[0],
    )


def _operations(grid_id: str, month: str, measure: str, limit: int | None) -> Facts:
    module_name, function_name = OPERATIONS_FACTS[measure]
    function: Callable[..., list[dict[str, Any]]] | None = None
    try:
        function = getattr(importlib.import_module(module_name), function_name, None)
    except ImportError:
        function = None
    if function is None:
        return Facts(measure=measure, header=[], rows=[], total=0, unavailable=True)
    found = list(function(grid_id=grid_id, month=month))
    header: list[str | Promise] = list(found[0]) if found else []
    rows = [list(row.values()) for row in found]
    return Facts(
        measure=measure,
        header=header,
        rows=rows if limit is None else rows[:limit],
        total=len(rows),
    )
