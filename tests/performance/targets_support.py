"""Shared given-state for the targets tests: KPI definitions made by hand (registered in
targets.kpis.EXTRA), actuals published with actuals.store.publish, targets saved directly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from quanwang.performance.actuals.store import ActualsVersion, publish
from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime
from quanwang.performance.kpis.definitions import KpiDefinition
from quanwang.performance.models.targets import Target

ALL_GRAINS = frozenset(Grain)


def kpi(
    code: str,
    *,
    aggregation: Aggregation = Aggregation.SUM,
    over_time: OverTime = OverTime.FLOW,
    direction: Direction = Direction.HIGHER,
    grains: frozenset[Grain] = ALL_GRAINS,
    inputs: tuple[str, ...] = (),
    decimals: int = 0,
) -> KpiDefinition:
    return KpiDefinition(
        code=code,
        name=f"指标{code}",
        unit="户",
        direction=direction,
        aggregation=aggregation,
        over_time=over_time,
        grains=grains,
        inputs=inputs,
        build=lambda facts, context: None,
        decimals=decimals,
    )


REVENUE = kpi("t_revenue", decimals=2)
CUSTOMERS = kpi("t_customers", over_time=OverTime.STOCK)
CHURN = kpi("t_churn", aggregation=Aggregation.RATIO, direction=Direction.LOWER, decimals=4)
POOL = kpi("t_pool", over_time=OverTime.STOCK)


def register(monkeypatch: Any, *definitions: KpiDefinition) -> None:
    from quanwang.performance.targets import kpis

    for definition in definitions or (REVENUE, CUSTOMERS, CHURN, POOL):
        monkeypatch.setitem(kpis.EXTRA, definition.code, definition)


def actuals(rows: list[tuple[str, str, str, str, str, float]], *, as_of: dt.date) -> ActualsVersion:
    """Publish (kpi, grain, key, org_unit, period, value) rows as the current actuals."""
    return publish(
        [
            {
                "kpi": k,
                "grain": g,
                "key": key,
                "org_unit": unit,
                "period": p,
                "numerator": v,
                "denominator": None,
            }
            for k, g, key, unit, p, v in rows
        ],
        as_of=as_of,
        snapshot="snap-1",
    )


def target(
    *,
    kpi: str,
    period: str,
    unit: Any,
    value: float | str,
    grain: Grain = Grain.ORG_UNIT,
    key: str | None = None,
    parent: Target | None = None,
    staff: Any = None,
    locked: bool = False,
) -> Target:
    return Target.objects.create(
        kpi=kpi,
        period=period,
        grain=grain,
        key=key or unit.code,
        org_unit=unit,
        staff=staff,
        parent=parent,
        value=Decimal(str(value)),
        deadline=dt.date(2030, 12, 31),
        locked=locked,
    )
