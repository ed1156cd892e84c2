"""Drill-down: the fact rows behind a KPI value, which add up to it.

A KPI's `facts` (catalogue) are one row per fact with its own numerator and denominator; its
base values are their sums. The rows of a value are those facts:

- Grain.ORG_UNIT at any level: the facts of the unit and every unit below it (a store's or an
  account's facts belong to their grid);
- Grain.STORE / Grain.ACCOUNT: the facts of that store or account;
- Grain.STAFF: the facts the person did (their own base rows) and, by the attribution rule
  (performance.actuals.attribution: a fact belongs to whoever held its grid, store or account
  on the fact's day), the facts of what they were responsible for while they held it;

within the period's days up to the figures' as-of day; for a KPI read at period end
(OverTime.STOCK), the last month with facts only. Operations facts are extracted afresh, so
a value computed before a later database change may differ from its rows by that change.
No personal data is listed: subscribers appear by their ID, never by number or name.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.performance.actuals import reading
from quanwang.performance.actuals.store import ActualsVersion, current
from quanwang.performance.choices import Aggregation, Grain, OverTime
from quanwang.performance.kpis.catalogue import get
from quanwang.performance.kpis.definitions import BuildContext, KpiDefinition
from quanwang.performance.kpis.facts import OPS_FACTS, extract_ops_facts, open_fact_tables
from quanwang.performance.periods import Period, parse

#: Rows a page shows at most (the export has them all).
PAGE_ROWS = 500


@dataclass(frozen=True)
class DrillRows:
    header: list[str]
    rows: list[list[Any]]
    numerator: float
    denominator: float | None
    #: The kept figure the rows explain (None: no figure kept for it).
    figure: reading.Figure | None = None

    @property
    def value(self) -> float | None:
        if self.denominator is None:
            return self.numerator
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Held:
    """One stretch of responsibility (the shape of actuals.attribution.Interval)."""

    grain: str
    key: str
    start: dt.date | None
    end: dt.date | None


def intervals(employee_no: str) -> list[Held]:
    """What `employee_no` was responsible for and when (performance.actuals.attribution)."""
    from quanwang.performance.actuals.attribution import intervals_for

    return [
        Held(str(Grain(i.grain).value), str(i.key), i.start, i.end)
        for i in intervals_for(employee_no)
    ]


def units_below(code: str) -> list[str]:
    """The codes of the unit `code` and every unit below it."""
    unit = OrgUnit.objects.filter(code=code).values_list("path", flat=True).first()
    if unit is None:
        return [code]
    return list(OrgUnit.objects.filter(path__startswith=unit).values_list("code", flat=True))


def rows(
    *,
    kpi: str,
    grain: Grain | str,
    key: str,
    period: str,
    version: ActualsVersion | None = None,
    limit: int | None = None,
) -> DrillRows:
    """The fact rows behind the value of `kpi` at `grain`/`key` over `period` (the module says
    which); `limit`: at most that many rows listed (the sums are always over all of them)."""
    definition = get(kpi)
    grain = Grain(grain)
    chosen = parse(period)
    version = version or current()
    as_of = version.as_of if version is not None else chosen.end
    figure = reading.figure(kpi=kpi, grain=grain, key=key, period=period, version=version)
    months = tuple(m for m in chosen.months if parse(m).start <= as_of)
    if definition.facts is None or not months:
        return _empty(definition, figure)
    ctx = BuildContext(as_of=min(as_of, chosen.end), months=months)
    con = ibis.duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="kpi-drill-") as scratch:
        try:
            extracts = _extracts(definition, Path(scratch), months)
            from quanwang.insight.snapshots import SnapshotStore

            tables = open_fact_tables(con, snapshot=SnapshotStore().latest(), extracts=extracts)
            missing = [name for name in definition.inputs if name not in tables]
            if missing:
                raise ServiceError(
                    _("The fact table “%(table)s” holds no data yet.") % {"table": missing[0]},
                    field="kpi",
                )
            facts = definition.facts(tables, ctx)
            facts = facts.filter(_belongs(facts, grain=grain, key=key, period=chosen))
            if definition.over_time == OverTime.STOCK:
                last = facts.day.max().as_scalar()
                facts = facts.filter(
                    (facts.day.year() == last.year()) & (facts.day.month() == last.month())
                )
            found = con.to_pyarrow(facts.order_by(["day", "key"])).to_pylist()
        finally:
            con.disconnect()
    return _shape(definition, found, figure=figure, limit=limit)


def _extracts(definition: KpiDefinition, folder: Path, months: Iterable[str]) -> dict[str, Path]:
    wanted = {f.value for f in OPS_FACTS} & set(definition.inputs)
    if not wanted:
        return {}
    found = extract_ops_facts(folder, months=list(months))
    return {name: path for name, path in found.items() if name in wanted}


def _belongs(facts: Any, *, grain: Grain, key: str, period: Period) -> Any:
    if grain is Grain.ORG_UNIT:
        return facts.org_unit.isin(units_below(key))
    if grain in (Grain.STORE, Grain.ACCOUNT):
        return (facts.grain == grain.value) & (facts.key == key)
    own = (facts.grain == Grain.STAFF.value) & (facts.key == key)
    for held in intervals(key):
        start = max(held.start or period.start, period.start)
        end = min(held.end or period.end, period.end)
        own |= (facts.grain == held.grain) & (facts.key == held.key) & facts.day.between(start, end)
    return own


def _labels(definition: KpiDefinition) -> tuple[str, str]:
    if definition.aggregation == Aggregation.RATIO:
        return _("Numerator"), _("Denominator")
    return str(definition.name), ""


def _shape(
    definition: KpiDefinition,
    found: list[dict[str, Any]],
    *,
    figure: reading.Figure | None,
    limit: int | None,
) -> DrillRows:
    top, bottom = _labels(definition)
    ratio = definition.aggregation == Aggregation.RATIO
    header = [_("Day"), _("Belongs to"), *(str(label) for _c, label in definition.detail), top]
    if ratio:
        header.append(bottom)
    listed: list[list[Any]] = []
    numerator, denominator = 0.0, 0.0
    for row in found:
        numerator += row["numerator"] or 0.0
        denominator += row["denominator"] or 0.0
        if limit is not None and len(listed) >= limit:
            continue
        line = [row["day"], row["key"], *(_cell(row.get(c)) for c, _l in definition.detail)]
        line.append(row["numerator"])
        if ratio:
            line.append(row["denominator"])
        listed.append(line)
    return DrillRows(
        header=header,
        rows=listed,
        numerator=round(numerator, 6),
        denominator=round(denominator, 6) if ratio else None,
        figure=figure,
    )


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


def _empty(definition: KpiDefinition, figure: reading.Figure | None) -> DrillRows:
    return _shape(definition, [], figure=figure, limit=0)
