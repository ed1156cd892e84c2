"""The KPI API (/api/v1/performance/kpis…): the catalogue, and a KPI's current values at a grain
over a period within the caller's reach (performance.access), naming the actuals' business
day, snapshot and computation time. Out of reach reads as absent, as on the console."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from quanwang.core.api_schema import ErrorOut, checked_page, clean_query
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant
from quanwang.performance.access import reader
from quanwang.performance.actuals import reading
from quanwang.performance.actuals.store import current
from quanwang.performance.choices import Grain
from quanwang.performance.kpis.catalogue import KpiNotFound, catalogue, get
from quanwang.performance.periods import PeriodError, parse

router = Router(tags=["performance"])


class KpiOut(Schema):
    code: str
    name: str
    unit: str
    direction: str
    aggregation: str
    over_time: str
    grains: list[str]
    decimals: int
    builtin: bool
    description: str


class KpiValueOut(Schema):
    key: str
    org_unit: str
    value: float | None
    numerator: float
    denominator: float | None


class KpiValuesOut(Schema):
    kpi: str
    grain: str
    period: str
    as_of: dt.date | None
    snapshot: str | None
    computed_at: dt.datetime | None
    count: int
    items: list[KpiValueOut]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


@router.get("/kpis", response={200: list[KpiOut], 404: ErrorOut})
def list_kpis(request: HttpRequest) -> list[dict[str, Any]]:
    # Definitions, nobody's figures: any KPI grant reads them (as the console's catalogue).
    if not has_grant(_user(request), resource=Resource.KPI, action=Action.VIEW):
        raise NotFound()
    return [
        {
            "code": k.code,
            "name": str(k.name),
            "unit": str(k.unit),
            "direction": k.direction.value,
            "aggregation": k.aggregation.value,
            "over_time": k.over_time.value,
            "grains": sorted(g.value for g in k.grains),
            "decimals": k.decimals,
            "builtin": k.builtin,
            "description": str(k.description),
        }
        for k in catalogue().values()
    ]


@router.get("/kpis/{code}/values", response={200: KpiValuesOut, 404: ErrorOut, 422: ErrorOut})
def kpi_values(
    request: HttpRequest,
    code: str,
    period: str,
    grain: str = Grain.ORG_UNIT.value,
    key: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """The KPI's values at `grain` over `period` (2024-12, 2024Q4, 2024) that the caller may
    read, by key; `key` for one. Each value is the ratio of its numerator and denominator
    for a ratio KPI, the numerator for a sum."""
    found = reader(_user(request), resource=Resource.KPI)
    if not found.reaches_anything:
        raise NotFound()
    try:
        kpi = get(clean_query(code, field="code") or "")
    except KpiNotFound:
        raise NotFound() from None
    try:
        period = parse(clean_query(period, field="period") or "").code
    except PeriodError:
        raise ServiceError(
            _("A period is a month (2024-12), a quarter (2024Q4) or a year (2024)."),
            field="period",
        ) from None
    if grain not in Grain.values:
        raise ServiceError(
            _("The grain is one of: %(grains)s.") % {"grains": ", ".join(Grain.values)},
            field="grain",
        )
    key = clean_query(key, field="key")
    limit, offset = checked_page(limit, offset)
    # One version for the figures and the time they name (a publish may land meanwhile).
    version = current()
    figures = reading.figures(
        kpi=kpi.code,
        grain=grain,
        period=period,
        keys=None if key is None else [key],
        version=version,
    )
    readable = sorted(
        (
            f
            for f in figures.values()
            if found.may_read(grain=grain, key=f.key, org_unit=f.org_unit)
        ),
        key=lambda f: f.key,
    )
    return {
        "kpi": kpi.code,
        "grain": grain,
        "period": period,
        "as_of": version.as_of if version else None,
        "snapshot": version.snapshot if version else None,
        "computed_at": version.computed_at if version else None,
        "count": len(readable),
        "items": [
            {
                "key": f.key,
                "org_unit": f.org_unit,
                "value": f.value,
                "numerator": f.numerator,
                "denominator": f.denominator,
            }
            for f in readable[offset : offset + limit]
        ],
    }
