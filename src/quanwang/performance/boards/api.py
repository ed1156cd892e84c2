"""The boards API (/api/v1/performance/boards…): the boards kept for a level and period, and
one board ranked within a unit with its movement, as the console shows it (boards.access: a
unit or level the caller may not look at answers 404, like one that does not exist)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from quanwang.core.api_schema import ErrorOut, checked_page, clean_query
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.performance.boards import access, present, reading
from quanwang.performance.boards.choices import BoardLevel

router = Router(tags=["performance"])


class BoardInfoOut(Schema):
    board: str
    kind: str
    title: str
    direction: str


class BoardsOut(Schema):
    day: dt.date | None
    level: str
    unit: str
    periods: list[str]
    period: str | None
    boards: list[BoardInfoOut]


class EntryOut(Schema):
    rank: int | None
    key: str
    name: str
    org_unit: str
    score: float | None
    attainment: float | None
    since_yesterday: str | None
    places_yesterday: int | None
    since_last_week: str | None
    places_last_week: int | None


class BoardOut(Schema):
    board: str
    kind: str
    title: str
    direction: str
    level: str
    unit: str
    period: str
    day: dt.date
    snapshot: str | None
    computed_at: dt.datetime | None
    compared_yesterday: dt.date | None
    compared_last_week: dt.date | None
    ranked: int
    count: int
    entries: list[EntryOut]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _unit_and_level(user: Any, *, unit: str | None, level: str) -> tuple[OrgUnit, BoardLevel]:
    scopes = access.scopes(user)
    if not scopes:
        raise NotFound()
    if level not in BoardLevel.values:
        raise ServiceError(
            _("The level is one of: %(levels)s.") % {"levels": ", ".join(BoardLevel.values)},
            field="level",
        )
    code = (clean_query(unit, field="unit") or "").strip()
    found = (
        OrgUnit.objects.filter(code=code).first()
        if code
        else access.default_unit(scopes, level=level)
    )
    if found is None or not access.may_view(user, level=level, within=found):
        raise NotFound()
    return found, BoardLevel(level)


def _day(day: dt.date | None) -> dt.date | None:
    if day is None:
        return reading.latest_day()
    if day not in reading.kept_days():
        raise NotFound()
    return day


@router.get("/boards", response={200: BoardsOut, 404: ErrorOut, 422: ErrorOut})
def list_boards(
    request: HttpRequest,
    level: str = BoardLevel.GRID.value,
    unit: str | None = None,
    period: str | None = None,
    day: dt.date | None = None,
) -> dict[str, Any]:
    """The boards kept on `day` (default: the newest) for `level`, within `unit` (default: the
    caller's first scope), over `period` (default: the first kept)."""
    period = clean_query(period, field="period")
    within, board_level = _unit_and_level(_user(request), unit=unit, level=level)
    kept_day = _day(day)
    periods = reading.periods_of(day=kept_day) if kept_day else []
    # A period with no boards kept lists none (not an error: it may not have begun).
    chosen = period or (periods[0] if periods else None)
    infos = reading.boards_of(level=board_level, period=chosen, day=kept_day) if chosen else []
    return {
        "day": kept_day,
        "level": board_level.value,
        "unit": within.code,
        "periods": periods,
        "period": chosen,
        "boards": [
            {
                "board": i.board,
                "kind": i.kind.value,
                "title": present.board_title(i),
                "direction": i.direction.value,
            }
            for i in infos
        ],
    }


@router.get("/boards/{board}", response={200: BoardOut, 404: ErrorOut, 422: ErrorOut})
def get_board(
    request: HttpRequest,
    board: str,
    period: str,
    level: str = BoardLevel.GRID.value,
    unit: str | None = None,
    day: dt.date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """The board ranked within the unit, best first (ties share a rank; entries without a
    figure come last, unranked), with the places moved since yesterday and last week."""
    board = clean_query(board, field="board") or ""
    period = clean_query(period, field="period") or ""
    within, board_level = _unit_and_level(_user(request), unit=unit, level=level)
    limit, offset = checked_page(limit, offset)
    kept_day = _day(day)
    found = (
        reading.board(
            board=board, level=board_level, period=period, within_path=within.path, day=kept_day
        )
        if kept_day
        else None
    )
    if found is None:
        raise NotFound()
    return {
        "board": found.info.board,
        "kind": found.info.kind.value,
        "title": present.board_title(found.info),
        "direction": found.info.direction.value,
        "level": found.level.value,
        "unit": within.code,
        "period": found.period,
        "day": found.day,
        "snapshot": found.snapshot,
        "computed_at": found.computed_at,
        "compared_yesterday": found.compared_yesterday,
        "compared_last_week": found.compared_last_week,
        "ranked": found.ranked,
        "count": len(found.entries),
        "entries": [
            {
                "rank": e.rank,
                "key": e.key,
                "name": e.row.name,
                "org_unit": e.row.org_unit,
                "score": e.row.score,
                "attainment": e.row.attainment,
                "since_yesterday": e.since_yesterday.value if e.since_yesterday else None,
                "places_yesterday": e.places_yesterday,
                "since_last_week": e.since_last_week.value if e.since_last_week else None,
                "places_last_week": e.places_last_week,
            }
            for e in found.entries[offset : offset + limit]
        ],
    }
