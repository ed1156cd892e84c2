"""How far a target has got: attainment, the pace expected at the elapsed share of the period,
a simple forecast to period end, and whether it is behind (early warning).

Formulas (docs/performance/targets.md), with `share` the period's elapsed share on the day
asked about (the business day by default: the figures' own day, not the wall clock):

- attainment = actual ÷ target; for a lower-is-better KPI (churn rate) target ÷ actual;
- expected = target × share for a KPI that adds up over the period (a FLOW sum: revenue, net
  adds); for a stock (customers at month end) or a rate (penetration) the target itself, since
  the level is due all along, not built up day by day;
- pace = actual ÷ expected (lower-is-better: expected ÷ actual);
- forecast = actual ÷ share for a FLOW sum (the run rate carried to period end); otherwise the
  actual (a stock or a rate is not extrapolated);
- behind = from `from_elapsed` of the period on, a pace under `below_pace` — the campaigns'
  early-warning thresholds (settings.QUANWANG_EARLY_WARNING, 50 % and 60 % by default), so one
  setting tunes both;
- a key with no figure in a KPI the version did compute is at 0 for a FLOW sum (nothing done
  yet leaves no fact row); otherwise its actual is unknown (None) and nothing is derived.

`attainment(kpi=None)`, the appraisal result the grades and incentives read, is the mean of
the key's targets' attainments over the period, each capped at APPRAISAL_CAP (150 %) so one
runaway KPI cannot hide the others.

`attainment_table` computes every target of a period in one DuckDB join of the targets (read
with one SQL query) and the actuals' Parquet file: a million targets in seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from django.db import connection
from django.utils import timezone

from quanwang.campaigns.services.progress import WarningThresholds, warning_thresholds
from quanwang.performance.actuals import reading
from quanwang.performance.actuals.store import ActualsVersion, current
from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime
from quanwang.performance.kpis.definitions import KpiDefinition
from quanwang.performance.models.targets import Target
from quanwang.performance.periods import Period, parse
from quanwang.performance.targets import kpis

#: Each KPI's attainment is capped here in the overall appraisal result.
APPRAISAL_CAP = 1.5


@dataclass(frozen=True, slots=True)
class Progress:
    kpi: str
    grain: Grain
    key: str
    period: str
    target_id: int
    #: The target's value.
    target: float
    #: The figure read (None: no figure; a FLOW sum's missing key reads as a zero figure).
    actual: reading.Figure | None
    attainment: float | None
    expected: float | None
    pace: float | None
    forecast: float | None
    behind: bool
    days_left: int
    #: Share of the period elapsed on `on`.
    elapsed: float
    #: The day the progress is measured on (the business day by default).
    on: dt.date

    @property
    def actual_value(self) -> float | None:
        return self.actual.value if self.actual is not None else None


def _builds_up(definition: KpiDefinition | None) -> bool:
    """Whether the KPI adds up over the period's days (a FLOW sum): only then is the expected
    value a share of the target and the forecast a run rate."""
    return (
        definition is not None
        and definition.aggregation is Aggregation.SUM
        and definition.over_time is OverTime.FLOW
    )


def _lower(definition: KpiDefinition | None) -> bool:
    return definition is not None and definition.direction is Direction.LOWER


def _ratio(better: float | None, worse: float | None, *, lower: bool) -> float | None:
    """better ÷ worse, flipped for a lower-is-better KPI; None when undefined."""
    if better is None or worse is None:
        return None
    top, bottom = (worse, better) if lower else (better, worse)
    return top / bottom if bottom else None


def measure(
    *,
    target: float,
    actual: float | None,
    share: float,
    definition: KpiDefinition | None,
    thresholds: WarningThresholds,
) -> tuple[float | None, float | None, float | None, float | None, bool]:
    """(attainment, expected, pace, forecast, behind) of one target (the formulas above)."""
    lower = _lower(definition)
    flow = _builds_up(definition)
    attainment = _ratio(actual, target, lower=lower)
    expected = target * share if flow else target
    pace = _ratio(actual, expected, lower=lower) if share > 0 else None
    if actual is None:
        forecast = None
    elif flow:
        forecast = actual / share if share > 0 else None
    else:
        forecast = actual
    behind = pace is not None and share >= thresholds.from_elapsed and pace < thresholds.below_pace
    return attainment, expected, pace, forecast, behind


def _day(on: dt.date | None, version: ActualsVersion | None) -> dt.date:
    if on is not None:
        return on
    if version is not None:
        return version.as_of
    return timezone.localdate()


def _figure(
    target: Target, definition: KpiDefinition | None, version: ActualsVersion | None
) -> reading.Figure | None:
    if version is None:
        return None
    found = reading.figures(
        kpi=target.kpi, grain=target.grain, period=target.period, version=version
    )
    figure = found.get(target.key)
    if figure is None and found and _builds_up(definition):
        figure = reading.Figure(
            kpi=target.kpi,
            grain=Grain(target.grain),
            key=target.key,
            org_unit="",
            period=target.period,
            numerator=0.0,
            denominator=None,
            value=0.0,
        )
    return figure


def progress(
    *, target: Target, on: dt.date | None = None, version: ActualsVersion | None = None
) -> Progress:
    """The progress of `target` on `on` (default: the business day of the actuals)."""
    version = version or current()
    day = _day(on, version)
    period = parse(target.period)
    definition = kpis.find(target.kpi)
    figure = _figure(target, definition, version)
    share = period.elapsed_share(day)
    value = float(target.value)
    attainment, expected, pace, forecast, behind = measure(
        target=value,
        actual=figure.value if figure is not None else None,
        share=share,
        definition=definition,
        thresholds=warning_thresholds(),
    )
    return Progress(
        kpi=target.kpi,
        grain=Grain(target.grain),
        key=target.key,
        period=target.period,
        target_id=target.pk,
        target=value,
        actual=figure,
        attainment=attainment,
        expected=expected,
        pace=pace,
        forecast=forecast,
        behind=behind,
        days_left=_days_left(period, day),
        elapsed=share,
        on=day,
    )


def _days_left(period: Period, day: dt.date) -> int:
    if day < period.start:
        return period.days
    return max(0, (period.end - day).days)


def attainment(
    *,
    grain: Grain | str,
    key: str,
    period: str,
    kpi: str | None = None,
    version: ActualsVersion | None = None,
) -> float | None:
    """One KPI's attainment of `key` over `period`; with `kpi` None the overall appraisal
    result: the mean of the key's targets' attainments, each capped at APPRAISAL_CAP. None
    when there is no target (or no figure) to say it."""
    targets = Target.objects.filter(grain=Grain(grain), key=key, period=period)
    if kpi is not None:
        targets = targets.filter(kpi=kpi)
    version = version or current()
    found = [progress(target=t, version=version).attainment for t in targets]
    known = [a for a in found if a is not None]
    if not known:
        return None
    if kpi is not None:
        return known[0]
    return sum(min(a, APPRAISAL_CAP) for a in known) / len(known)


# --- every target of a period at once -------------------------------------------------------

TARGET_SCHEMA = pa.schema(
    [
        ("target_id", pa.int64()),
        ("kpi", pa.string()),
        ("grain", pa.string()),
        ("key", pa.string()),
        ("org_unit", pa.string()),
        ("target", pa.float64()),
    ]
)
_META_SCHEMA = pa.schema([("kpi", pa.string()), ("lower", pa.bool_()), ("flow", pa.bool_())])


def _targets_arrow(*, period: str, grain: Grain | None) -> pa.Table:
    """The period's targets as an Arrow table, read with one SQL query (no model instances)."""
    rows = Target.objects.filter(period=period)
    if grain is not None:
        rows = rows.filter(grain=grain)
    sql, params = rows.values_list(
        "pk", "kpi", "grain", "key", "org_unit__code", "value"
    ).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    columns: list[Any] = [list(c) for c in zip(*fetched, strict=True)] if fetched else [[]] * 6
    columns[5] = [float(v) if isinstance(v, Decimal) else v for v in columns[5]]
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, TARGET_SCHEMA, strict=True)],
        schema=TARGET_SCHEMA,
    )


def _meta(codes: list[str]) -> pa.Table:
    found = {code: kpis.find(code) for code in codes}
    return pa.Table.from_pylist(
        [{"kpi": c, "lower": _lower(d), "flow": _builds_up(d)} for c, d in found.items()],
        schema=_META_SCHEMA,
    )


_JOIN = """
with values_ as (
    select kpi, grain, key, numerator, denominator, value
    from {values} where period = $period
),
computed as (select distinct kpi, grain from values_),
joined as (
    select t.target_id, t.kpi, t.grain, t.key, t.org_unit, t.target,
           coalesce(m.lower, false) as lower, coalesce(m.flow, false) as flow,
           v.numerator, v.denominator,
           case when v.key is not null then v.value
                when c.kpi is not null and coalesce(m.flow, false) then 0.0 end as actual
    from targets t
    left join meta m on m.kpi = t.kpi
    left join values_ v on v.kpi = t.kpi and v.grain = t.grain and v.key = t.key
    left join computed c on c.kpi = t.kpi and c.grain = t.grain
),
measured as (
    select *,
        case when flow then target * $share else target end as expected,
        case when actual is null then null
             when lower then (case when actual <> 0 then target / actual end)
             else (case when target <> 0 then actual / target end) end as attainment
    from joined
)
select target_id, kpi, grain, key, org_unit, target, numerator, denominator, actual,
    attainment, expected, pace, forecast,
    coalesce($share >= $from_elapsed and pace < $below_pace, false) as behind,
    $days_left::integer as days_left, $share::double as elapsed
from (select *,
    case when actual is null or $share <= 0 then null
         when lower then (case when actual <> 0 then expected / actual end)
         else (case when expected <> 0 then actual / expected end) end as pace,
    case when actual is null then null
         when flow then (case when $share > 0 then actual / $share end)
         else actual end as forecast
from measured)
"""


def attainment_table(
    *,
    period: str,
    grain: Grain | str | None = None,
    on: dt.date | None = None,
    version: ActualsVersion | None = None,
) -> pa.Table:
    """Every target of `period` (at `grain` when given) with its progress, as Arrow columns:
    target_id, kpi, grain, key, org_unit, target, numerator, denominator, actual, attainment,
    expected, pace, forecast, behind, days_left, elapsed."""
    parsed = parse(period)
    version = version or current()
    day = _day(on, version)
    share = parsed.elapsed_share(day)
    thresholds = warning_thresholds()
    targets = _targets_arrow(period=parsed.code, grain=Grain(grain) if grain else None)
    meta = _meta(sorted(set(targets.column("kpi").to_pylist())))
    db = duckdb.connect()
    try:
        db.register("targets", targets)
        db.register("meta", meta)
        if version is not None:
            values = f"read_parquet('{_quoted(str(version.values_path))}')"
        else:
            values = (
                "(select null::varchar as kpi, null::varchar as grain, null::varchar as key, "
                "null::double as numerator, null::double as denominator, "
                "null::double as value, null::varchar as period where false)"
            )
        params = {
            "period": parsed.code,
            "share": share,
            "from_elapsed": thresholds.from_elapsed,
            "below_pace": thresholds.below_pace,
            "days_left": _days_left(parsed, day),
        }
        return db.sql(_JOIN.format(values=values), params=params).to_arrow_table()
    finally:
        db.close()


def _quoted(path: str) -> str:
    return path.replace("'", "''")


def attainments(
    *,
    period: str,
    grain: Grain | str | None = None,
    on: dt.date | None = None,
    version: ActualsVersion | None = None,
) -> dict[tuple[str, str, str], Progress]:
    """(kpi, grain, key) → Progress of every target of `period` (at `grain` when given), from
    `attainment_table`."""
    version = version or current()
    day = _day(on, version)
    table = attainment_table(period=period, grain=grain, on=day, version=version)
    code = parse(period).code
    found: dict[tuple[str, str, str], Progress] = {}
    for row in table.to_pylist():
        grain_value = Grain(row["grain"])
        figure = None
        if row["actual"] is not None:
            figure = reading.Figure(
                kpi=row["kpi"],
                grain=grain_value,
                key=row["key"],
                org_unit=row["org_unit"],
                period=code,
                numerator=row["numerator"] if row["numerator"] is not None else 0.0,
                denominator=row["denominator"],
                value=row["actual"],
            )
        found[(row["kpi"], row["grain"], row["key"])] = Progress(
            kpi=row["kpi"],
            grain=grain_value,
            key=row["key"],
            period=code,
            target_id=row["target_id"],
            target=row["target"],
            actual=figure,
            attainment=row["attainment"],
            expected=row["expected"],
            pace=row["pace"],
            forecast=row["forecast"],
            behind=row["behind"],
            days_left=row["days_left"],
            elapsed=row["elapsed"],
            on=day,
        )
    return found
