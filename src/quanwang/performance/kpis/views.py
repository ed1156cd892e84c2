"""Pages of performance.kpis: the catalogue, a KPI's values in the user's reach, the drill-down
to the rows behind a value (and its XLSX), and the custom KPI form."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes
from quanwang.performance.access import reader
from quanwang.performance.actuals import reading
from quanwang.performance.actuals.store import current
from quanwang.performance.choices import Aggregation, Grain, PeriodKind
from quanwang.performance.kpis import drill
from quanwang.performance.kpis.catalogue import KpiNotFound, catalogue, get
from quanwang.performance.kpis.definitions import KpiDefinition
from quanwang.performance.periods import PeriodError, parse, period_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _readable(request: HttpRequest) -> Any:
    found = reader(request.user, resource=Resource.KPI)
    if not found.reaches_anything:
        raise Http404
    return found


def _kpi(code: str) -> KpiDefinition:
    try:
        return get(code)
    except KpiNotFound:
        raise Http404 from None


def _period(request: HttpRequest) -> str:
    text = request.GET.get("period") or ""
    if text:
        try:
            return parse(text).code
        except PeriodError:
            pass
    day = reading.business_day()
    return period_of(PeriodKind.MONTH, day).code if day else ""


@login_required
def index(request: HttpRequest) -> HttpResponse:
    from quanwang.core.querysets import has_grant

    # The catalogue is definitions, nobody's figures: any KPI grant reads it, an own-only one
    # (an account manager's) included, with or without a staff record.
    if not has_grant(request.user, resource=Resource.KPI, action=Action.VIEW):
        raise Http404

    kpis = list(catalogue().values())
    return render(
        request,
        "performance/kpis/index.html",
        {
            "kpis": kpis,
            "may_add": has_grant(request.user, resource=Resource.KPI, action=Action.ADD),
        },
    )


@login_required
def detail(request: HttpRequest, code: str) -> HttpResponse:
    """The KPI's values of the user's reachable units (and stores, accounts, staff) for a
    period, each linking to its rows."""
    found = _readable(request)
    kpi = _kpi(code)
    period = _period(request)
    asked = request.GET.get("grain") or ""
    grain = Grain(asked) if asked in Grain.values else Grain.ORG_UNIT
    values = []
    if period:
        for figure in reading.figures(kpi=kpi.code, grain=grain, period=period).values():
            if found.may_read(grain=grain, key=figure.key, org_unit=figure.org_unit):
                values.append(figure)
    values.sort(key=lambda f: f.key)
    return render(
        request,
        "performance/kpis/detail.html",
        {
            "kpi": kpi,
            "period": period,
            "grain": grain,
            "grains": [g for g in Grain if g in kpi.grains],
            "values": values,
            "version": current(),
            "ratio": kpi.aggregation == Aggregation.RATIO,
        },
    )


def _drill(
    request: HttpRequest, code: str, grain: str, key: str, period: str, *, limit: int | None
) -> drill.DrillRows:
    found = _readable(request)
    kpi = _kpi(code)
    if grain not in Grain.values:
        raise Http404
    try:
        parse(period)
    except PeriodError:
        raise Http404 from None
    figure = reading.figure(kpi=kpi.code, grain=grain, key=key, period=period)
    org_unit = figure.org_unit if figure is not None else (key if grain == Grain.ORG_UNIT else "")
    # Out of reach or unknown look the same: a 404.
    if not org_unit and not (grain == Grain.STAFF and key in found.own_employee_nos):
        raise Http404
    if not found.may_read(grain=grain, key=key, org_unit=org_unit):
        raise Http404
    try:
        return drill.rows(kpi=kpi.code, grain=grain, key=key, period=period, limit=limit)
    except ServiceError as exc:
        raise Http404(exc.message) from exc


@login_required
def drill_page(request: HttpRequest, code: str, grain: str, key: str, period: str) -> HttpResponse:
    rows = _drill(request, code, grain, key, period, limit=drill.PAGE_ROWS)
    kpi = _kpi(code)
    return render(
        request,
        "performance/kpis/drill.html",
        {
            "kpi": kpi,
            "grain": Grain(grain),
            "key": key,
            "period": parse(period),
            "found": rows,
            "page_rows": drill.PAGE_ROWS,
            "version": current(),
        },
    )


@login_required
def drill_xlsx(request: HttpRequest, code: str, grain: str, key: str, period: str) -> HttpResponse:
    rows = _drill(request, code, grain, key, period, limit=None)
    book = new_workbook()
    sheet = book.active
    sheet.title = period
    append_row(sheet, rows.header)
    for row in rows.rows:
        append_row(sheet, row)
    response = HttpResponse(workbook_bytes(book), content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="kpi-{code}-{grain}-{key}-{period}.xlsx"'
    )
    return response


@login_required
@require_http_methods(["GET", "POST"])
def custom_form(request: HttpRequest) -> HttpResponse:
    from quanwang.core.querysets import has_grant
    from quanwang.performance.kpis.forms import CustomKpiForm
    from quanwang.performance.kpis.services import save_custom_kpi

    if not has_grant(request.user, resource=Resource.KPI, action=Action.ADD):
        raise Http404
    form = CustomKpiForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_custom_kpi(user=request.user, data=form.definition())
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return redirect("performance:kpis-detail", code=saved.code)
    return render(request, "performance/kpis/custom_form.html", {"form": form})
