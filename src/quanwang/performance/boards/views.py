"""Console pages of the boards: a board within a unit (龙榜 and 虎榜, movement), its XLSX and
PNG, an entry's figures (drill-down, 404 outside performance.access), and the morning-meeting
sheets. Thin: the rules live in access.py, reading.py, sharing.py and morning.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from quanwang.core.choices import Resource
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit, Staff
from quanwang.performance.access import Reader, reader
from quanwang.performance.boards import access, morning, present, reading, sharing
from quanwang.performance.boards.choices import LEVEL_GRAIN, BoardLevel
from quanwang.performance.boards.reading import Board

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Entries in each of the 龙榜 and the 虎榜 on the page.
TOP = 5


@dataclass(frozen=True)
class Selection:
    level: BoardLevel
    unit: OrgUnit
    scopes: list[access.Scope]
    day: dt.date | None
    period: str | None
    board: str | None


def _select(request: HttpRequest) -> Selection:
    """The board asked for, defaulted to the user's first scope; a unit or level the user may
    not look at answers 404 (like one that does not exist)."""
    scopes = access.scopes(request.user)
    if not scopes:
        raise Http404
    asked_level = request.GET.get("level", "")
    code = request.GET.get("unit", "").strip()
    if code:
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            raise Http404
    else:
        unit = access.default_unit(scopes, level=asked_level)
    if asked_level in BoardLevel.values:
        level = BoardLevel(asked_level)
    else:
        allowed = [lv for lv in BoardLevel if access.may_view(request.user, level=lv, within=unit)]
        level = BoardLevel.GRID if BoardLevel.GRID in allowed else (allowed or [BoardLevel.GRID])[0]
    if not access.may_view(request.user, level=level, within=unit):
        raise Http404
    day = _day(request)
    periods = reading.periods_of(day=day)
    period = request.GET.get("period", "")
    if period not in periods:
        period = periods[0] if periods else ""
    boards = reading.boards_of(level=level, period=period or None, day=day) if period else []
    board = request.GET.get("board", "")
    if board not in {b.board for b in boards}:
        board = boards[0].board if boards else ""
    return Selection(level, unit, scopes, day, period or None, board or None)


def _day(request: HttpRequest) -> dt.date | None:
    text = request.GET.get("day", "").strip()
    if text:
        try:
            asked = dt.date.fromisoformat(text)
        except ValueError:
            asked = None
        if asked is not None and asked in reading.kept_days():
            return asked
    return reading.latest_day()


def _board(selection: Selection) -> Board | None:
    if not (selection.board and selection.period):
        return None
    return reading.board(
        board=selection.board,
        level=selection.level,
        period=selection.period,
        within_path=selection.unit.path,
        day=selection.day,
    )


def _query(selection: Selection, **changes: str) -> str:
    from urllib.parse import urlencode

    values = {
        "level": selection.level.value,
        "unit": selection.unit.code,
        "period": selection.period or "",
        "board": selection.board or "",
    }
    if selection.day:
        values["day"] = selection.day.isoformat()
    values.update(changes)
    return urlencode({k: v for k, v in values.items() if v})


#: Rows of the whole board on one page.
ROWS_PER_PAGE = 100


@login_required
def index(request: HttpRequest) -> HttpResponse:
    selection = _select(request)
    board = _board(selection)
    levels = [
        lv for lv in BoardLevel if access.may_view(request.user, level=lv, within=selection.unit)
    ]
    context: dict[str, Any] = {
        "selection": selection,
        "board": board,
        "levels": levels,
        "periods": [(p, present.period_label(p)) for p in reading.periods_of(day=selection.day)],
        "boards": [
            (info.board, present.board_title(info))
            for info in reading.boards_of(
                level=selection.level, period=selection.period, day=selection.day
            )
        ]
        if selection.period
        else [],
        "query": _query(selection),
        "extra_unit": None
        if any(s.unit.pk == selection.unit.pk for s in selection.scopes)
        else selection.unit,
    }
    if board is not None:
        kpi_reader = reader(request.user, resource=Resource.KPI)
        write = present.scorer(board.info)
        context |= {
            "title": present.board_title(board.info),
            "subtitle": present.subtitle(board, within_name=selection.unit.name),
            # The whole board a page at a time: a city's 2,000 stores rendered at once missed
            # the page's 200 ms (docs/benchmarks.md); the top and bottom are bounded anyway.
            "page": (
                page := Paginator(board.entries, ROWS_PER_PAGE).get_page(request.GET.get("page"))
            ),
            "rows": [_row(request, selection, board, e, kpi_reader, write) for e in page],
            "top": [_row(request, selection, board, e, kpi_reader, write) for e in board.top(TOP)],
            "bottom": [
                _row(request, selection, board, e, kpi_reader, write) for e in board.bottom(TOP)
            ]
            if board.ranked > TOP
            else [],
        }
    return render(request, "performance/boards/index.html", context)


def _row(
    request: HttpRequest,
    selection: Selection,
    board: Board,
    entry: Any,
    using: Reader | None = None,
    write: Callable[[float | None], str] | None = None,
) -> dict[str, Any]:
    drill = access.may_drill(
        request.user,
        level=selection.level,
        key=entry.key,
        org_unit=entry.row.org_unit,
        using=using,
    )
    return {
        "rank": present.rank_text(entry),
        "name": entry.row.name,
        "key": entry.key,
        "score": (write or present.scorer(board.info))(entry.row.score),
        "attainment": present.attainment_text(entry),
        "yesterday": present.movement_text(entry.since_yesterday, entry.places_yesterday),
        "last_week": present.movement_text(entry.since_last_week, entry.places_last_week),
        "up": (entry.places_yesterday or 0) > 0,
        "down": (entry.places_yesterday or 0) < 0,
        "drill": _query(selection, key=entry.key) if drill else "",
    }


def _found_board(request: HttpRequest) -> tuple[Selection, Board]:
    selection = _select(request)
    board = _board(selection)
    if board is None:
        raise Http404
    return selection, board


@login_required
def board_xlsx(request: HttpRequest) -> HttpResponse:
    selection, board = _found_board(request)
    data = sharing.board_xlsx(board, within_name=selection.unit.name)
    response = HttpResponse(data, content_type=XLSX)
    name = f"board-{selection.level.value}-{board.info.board}-{board.day.isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def board_png(request: HttpRequest) -> HttpResponse:
    selection, board = _found_board(request)
    try:
        data = sharing.board_png(board, within_name=selection.unit.name)
    except ServiceError as exc:
        return render(
            request, "performance/boards/problem.html", {"message": exc.message}, status=503
        )
    response = HttpResponse(data, content_type="image/png")
    name = f"board-{selection.level.value}-{board.info.board}-{board.day.isoformat()}.png"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
def entry(request: HttpRequest) -> HttpResponse:
    """One entry's figures: what its score is made of, and the link to the rows behind it.
    Another grid's or another person's figures answer 404 (access.may_drill)."""
    selection, board = _found_board(request)
    key = request.GET.get("key", "")
    found = next((e for e in board.entries if e.key == key), None)
    if found is None or not access.may_drill(
        request.user, level=selection.level, key=key, org_unit=found.row.org_unit
    ):
        raise Http404
    drill_url = ""
    if board.info.kind == "kpi":
        grain = LEVEL_GRAIN[selection.level].value
        try:
            drill_url = reverse(
                "performance:kpis-drill", args=[board.info.board, grain, key, board.period]
            )
        except NoReverseMatch:
            drill_url = ""
    context = {
        "selection": selection,
        "board": board,
        "title": present.board_title(board.info),
        "entry": _row(request, selection, board, found),
        "target": found.row.target,
        "drill_url": drill_url,
        "query": _query(selection),
    }
    return render(request, "performance/boards/entry.html", context)


@login_required
def morning_team(request: HttpRequest, code: str) -> HttpResponse:
    """The morning-meeting sheet of a grid's or a county's team (boards.access.sheet_team)."""
    unit = access.sheet_team(request.user, code=code)
    if unit is None:
        raise Http404
    sheet = morning.team_sheet(user=request.user, unit=unit)
    return render(request, "performance/boards/morning.html", {"sheet": sheet, "unit": unit})


@login_required
def morning_own(request: HttpRequest) -> HttpResponse:
    """A staff member's own sheet (an account manager's list and place)."""
    staff = Staff.objects.filter(user_id=request.user.pk or 0).select_related("org_unit").first()
    if staff is None or not access.scopes(request.user):
        raise Http404
    sheet = morning.own_sheet(user=request.user, staff=staff)
    return render(request, "performance/boards/morning.html", {"sheet": sheet, "unit": None})


@login_required
def morning_index(request: HttpRequest) -> HttpResponse:
    """The teams whose sheets the user may open (their own units and the grids below)."""
    teams = access.sheet_teams(request.user)
    if teams is None:
        raise Http404
    own = Staff.objects.filter(user_id=request.user.pk or 0).exists()
    return render(request, "performance/boards/morning_index.html", {"teams": teams, "own": own})
