"""Console pages of the grid scorecards: the list, a grid's scorecard and P&L, a grid
manager's, a county's ranking, and the facts behind each figure (with XLSX exports). Thin: the
figures come from services.reading (kept figures), scoping from services.access."""

from __future__ import annotations

import importlib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from quanwang.channels.scorecards.services import access, drill, reading
from quanwang.channels.scorecards.services.kept import Scorecards
from quanwang.channels.scorecards.services.kpis import Kpi, Measure
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.querysets import has_grant
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The parts that may add a section to the grid page: channels.<part>.sections.grid_section
#: returns the context of channels/<part>/_grid_section.html, or None to add nothing.
SECTION_PARTS = ("funnel", "visits", "commissions", "stores", "geo")
DEFAULT_RANKING_KPI = Kpi.PROFIT


def _guard(request: HttpRequest) -> None:
    if not has_grant(request.user, resource=Resource.GRID_SCORECARD, action=Action.VIEW):
        raise Http404


def _month(request: HttpRequest, scorecards: Scorecards) -> str | None:
    """The month asked for (?month=YYYY-MM), or the newest kept; a month not kept says so."""
    if not scorecards.months:
        return None
    asked = request.GET.get("month", "").strip()
    if asked and asked not in scorecards.months:
        messages.warning(
            request,
            _("No scorecards for month “%(month)s”; showing %(shown)s.")
            % {"month": asked[:20], "shown": scorecards.months[-1]},
        )
    return asked if asked in scorecards.months else scorecards.months[-1]


def _kpi(request: HttpRequest) -> Kpi:
    asked = request.GET.get("kpi", "")
    if asked and asked not in Kpi.values:
        messages.warning(
            request, _("Unknown indicator; ranked by %(kpi)s.") % {"kpi": DEFAULT_RANKING_KPI.label}
        )
    return Kpi(asked) if asked in Kpi.values else DEFAULT_RANKING_KPI


def _found(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def index(request: HttpRequest) -> HttpResponse:
    _guard(request)
    scorecards = reading.load()
    context: dict[str, Any] = {"scorecards": scorecards}
    if scorecards is not None:
        month = _month(request, scorecards)
        visible = access.visible_grid_codes(request.user)
        counties = (
            [
                (
                    county,
                    reading.card(
                        scorecards,
                        scorecards.county_grids(county.code),
                        month=month,
                        with_trend=False,
                    ),
                )
                for county in access.visible_counties(request.user)
            ]
            if month
            else []
        )
        grids = (
            [
                (info, reading.card(scorecards, [g], month=month, with_trend=False))
                for g, info in sorted(scorecards.grids.items())
                if g in visible
            ]
            if month and not counties
            else []
        )
        context |= {"month": month, "counties": counties, "grids": grids}
    return render(request, "channels/scorecards/index.html", context)


def _sections(request: HttpRequest, *, grid: Any, month: str | None) -> list[str]:
    """The sections other parts add to the grid page, rendered; a part without one adds
    nothing."""
    rendered: list[str] = []
    for part in SECTION_PARTS:
        try:
            module = importlib.import_module(f"quanwang.channels.{part}.sections")
        except ImportError:
            continue
        section = getattr(module, "grid_section", None)
        if section is None:
            continue
        context = section(grid=grid, user=request.user, month=month)
        if isinstance(context, dict):
            template = f"channels/{part}/_grid_section.html"
            rendered.append(render_to_string(template, context, request=request))
    return rendered


@login_required
def grid(request: HttpRequest, code: str) -> HttpResponse:
    _guard(request)
    unit = _found(access.grid_unit, user=request.user, code=code)
    scorecards = reading.load()
    context: dict[str, Any] = {"grid": unit, "scorecards": scorecards}
    month = _month(request, scorecards) if scorecards is not None else None
    if scorecards is not None and month is not None and code in scorecards.grids:
        info = scorecards.grids[code]
        card = reading.card(
            scorecards, [code], month=month, rank_among=scorecards.county_grids(info.county_code)
        )
        context |= {
            "info": info,
            "month": month,
            "card": card,
            "manager": access.staff_named(user=request.user, employee_no=info.manager_employee_no),
            "county": access.units(request.user).filter(code=info.county_code).first(),
            "chart": _chart(card),
        }
    context["sections"] = _sections(request, grid=unit, month=month)
    return render(request, "channels/scorecards/grid.html", context)


def _chart(card: reading.Card) -> dict[str, Any]:
    """The trend charts' data: months, per KPI its label, shape and values, and the P&L."""
    revenue, profit = card.trend[Kpi.REVENUE.value], card.trend[Kpi.PROFIT.value]
    return {
        "months": card.months,
        "pnl": {
            "revenue": revenue,
            "costs": [round((r or 0) - (p or 0), 2) for r, p in zip(revenue, profit, strict=True)],
            "profit": profit,
        },
        "series": [
            {
                "kpi": cell.kpi.value,
                "label": str(cell.label),
                "shape": cell.shape.value,
                "values": card.trend[cell.kpi.value],
            }
            for cell in card.cells
        ],
    }


@login_required
def manager(request: HttpRequest, employee_no: str) -> HttpResponse:
    _guard(request)
    scorecards = reading.load()
    if scorecards is None:
        raise Http404
    grid_ids = _found(
        access.manager_grids, user=request.user, grid_ids=scorecards.manager_grids(employee_no)
    )
    month = _month(request, scorecards)
    if month is None:
        raise Http404
    card = reading.card(scorecards, grid_ids, month=month)
    rows = [
        (
            scorecards.grids[g],
            reading.card(
                scorecards,
                [g],
                month=month,
                rank_among=scorecards.county_grids(scorecards.grids[g].county_code),
                with_trend=False,
            ),
        )
        for g in grid_ids
    ]
    return render(
        request,
        "channels/scorecards/manager.html",
        {
            "employee_no": employee_no,
            "staff": access.staff_named(user=request.user, employee_no=employee_no),
            "scorecards": scorecards,
            "month": month,
            "card": card,
            "rows": rows,
            "outside": len(scorecards.manager_grids(employee_no)) - len(grid_ids),
            "chart": _chart(card),
        },
    )


@login_required
def county(request: HttpRequest, code: str) -> HttpResponse:
    _guard(request)
    unit = _found(access.county_unit, user=request.user, code=code)
    scorecards = reading.load()
    context: dict[str, Any] = {"county": unit, "scorecards": scorecards, "kpis": Kpi.choices}
    month = _month(request, scorecards) if scorecards is not None else None
    kpi = _kpi(request)
    if scorecards is not None and month is not None:
        context |= {
            "month": month,
            "kpi": kpi,
            "shape": reading.RULES[kpi].shape.value,
            "rows": reading.county_ranking(scorecards, code, month=month, kpi=kpi),
            "previous_month": scorecards.previous(month),
            "card": reading.card(scorecards, scorecards.county_grids(code), month=month),
            "managers": _managers(request, scorecards, code, month),
        }
    return render(request, "channels/scorecards/county.html", context)


def _managers(
    request: HttpRequest, scorecards: Scorecards, county_code: str, month: str
) -> list[Any]:
    """The county's grid managers, each with the KPIs of their grids in it added up."""
    by_manager: dict[str, list[str]] = {}
    for g in scorecards.county_grids(county_code):
        employee_no = scorecards.grids[g].manager_employee_no
        if employee_no:
            by_manager.setdefault(employee_no, []).append(g)
    return [
        (
            employee_no,
            access.staff_named(user=request.user, employee_no=employee_no),
            len(grid_ids),
            reading.card(scorecards, grid_ids, month=month, with_trend=False),
        )
        for employee_no, grid_ids in sorted(by_manager.items())
    ]


@login_required
def county_xlsx(request: HttpRequest, code: str) -> HttpResponse:
    _guard(request)
    _found(access.county_unit, user=request.user, code=code)
    scorecards = reading.load()
    if scorecards is None or not scorecards.months:
        raise Http404
    month = _month(request, scorecards) or scorecards.months[-1]
    kpi = _kpi(request)
    rows = reading.county_ranking(scorecards, code, month=month, kpi=kpi)
    header = [
        _("Rank"),
        _("Grid ID"),
        _("Grid"),
        _("Grid manager"),
        str(kpi.label),
        _("Rank last month"),
        _("Places gained"),
    ]
    return _xlsx(
        f"scorecards-{code}-{kpi.value}-{month}.xlsx",
        month,
        header,
        [
            [
                r.rank,
                r.grid_id,
                r.name,
                r.manager_employee_no,
                r.value,
                r.previous_rank,
                r.movement,
            ]
            for r in rows
        ],
    )


def _facts(request: HttpRequest, code: str, measure: str, *, limit: int | None) -> Any:
    _guard(request)
    _found(access.grid_unit, user=request.user, code=code)
    if measure not in drill.drillable() or not access.may_list_customers(
        user=request.user, grid_id=code
    ):
        raise Http404
    scorecards = reading.load()
    if scorecards is None or code not in scorecards.grids:
        raise Http404
    month = _month(request, scorecards)
    if month is None:
        raise Http404
    found = drill.facts(
        scorecards=scorecards, grid_id=code, month=month, measure=measure, limit=limit
    )
    return scorecards, month, found


def measure_label(measure: str) -> str:
    if measure in Measure.values:
        return str(Measure(measure).label)
    if measure == drill.HIGH_RISK:
        return _("High churn-risk customers")
    from quanwang.insight.services import risk_band_labels

    band = int(measure.removeprefix("risk_"))
    return _("Churn risk %(band)s") % {"band": risk_band_labels()[band]}


@login_required
def facts(request: HttpRequest, code: str, measure: str) -> HttpResponse:
    scorecards, month, found = _facts(request, code, measure, limit=drill.PAGE_ROWS)
    return render(
        request,
        "channels/scorecards/facts.html",
        {
            "grid": scorecards.grids[code],
            "month": month,
            "measure": measure,
            "label": measure_label(measure),
            "figure": drill.figure(
                scorecards=scorecards, grid_id=code, month=month, measure=measure
            ),
            "facts": found,
            "page_rows": drill.PAGE_ROWS,
        },
    )


@login_required
def facts_xlsx(request: HttpRequest, code: str, measure: str) -> HttpResponse:
    _scorecards, month, found = _facts(request, code, measure, limit=None)
    return _xlsx(
        f"scorecard-{code}-{measure}-{month}.xlsx",
        month,
        [str(h) for h in found.header],
        found.rows,
    )


def _xlsx(filename: str, title: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    """Every export of the scorecards: one sheet through core.tabular's writer."""
    book = new_workbook()
    sheet = book.active
    sheet.title = title
    append_row(sheet, header)
    for row in rows:
        append_row(sheet, row)
    response = HttpResponse(workbook_bytes(book), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
