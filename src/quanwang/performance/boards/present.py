"""How a board is named and its figures written, the same on the page, in the XLSX file and in
the PNG image."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from quanwang.core.formatting import MISSING, grouped, percent
from quanwang.core.models import OrgUnit
from quanwang.performance.boards.choices import BoardKind, Movement
from quanwang.performance.boards.reading import Board, BoardInfo, Entry
from quanwang.performance.choices import Aggregation
from quanwang.performance.periods import PeriodError, parse


def board_title(info: BoardInfo) -> str:
    """The board's name: the composite's, or the KPI's Chinese name (its code when unknown)."""
    if info.kind == BoardKind.COMPOSITE:
        return info.title or info.board
    from quanwang.performance.targets.kpis import find

    definition = find(info.board)
    return str(definition.name) if definition is not None else info.board


def period_label(code: str) -> str:
    try:
        return parse(code).label
    except PeriodError:
        return code


def unit_name(path: str) -> str:
    code = [c for c in path.strip("/").split("/") if c][-1:] or [""]
    found = OrgUnit.objects.filter(code=code[0]).values_list("name", flat=True).first()
    return found or code[0]


def scorer(info: BoardInfo) -> Callable[[float | None], str]:
    """How the board's scores are written (the KPI's definition looked up once a board)."""
    if info.kind == BoardKind.COMPOSITE:
        return lambda value: (
            MISSING if value is None else _("%(points)s pts") % {"points": grouped_number(value, 1)}
        )
    from quanwang.performance.targets.kpis import find

    definition = find(info.board)

    def write(value: float | None) -> str:
        if value is None:
            return MISSING
        if definition is None:
            return grouped_number(value, 2)
        if definition.aggregation == Aggregation.RATIO and str(definition.unit) == "%":
            return percent(value, max(1, definition.decimals))
        text = grouped_number(value, definition.decimals)
        return f"{text}{definition.unit}" if definition.unit else text

    return write


def score_text(info: BoardInfo, value: float | None) -> str:
    """A score as shown: a composite's in points, a KPI's value in its unit and digits."""
    return scorer(info)(value)


def grouped_number(value: float, places: int) -> str:
    from decimal import Decimal

    return grouped(Decimal(str(round(value, places))), places)


def movement_text(movement: Movement | None, places: int | None) -> str:
    """↑3, ↓2, "—" unchanged, "new"; "" when there is nothing to compare with."""
    if movement is None:
        return ""
    if movement == Movement.NEW:
        return _("new")
    if movement == Movement.SAME or not places:
        return "—"
    return f"↑{places}" if places > 0 else f"↓{-places}"


def rank_text(entry: Entry) -> str:
    return str(entry.rank) if entry.rank is not None else MISSING


def attainment_text(entry: Entry) -> str:
    return percent(entry.row.attainment, 1) if entry.row.attainment is not None else MISSING


def subtitle(board: Board, *, within_name: str) -> str:
    return _("%(unit)s · %(level)s · %(period)s · figures of %(day)s") % {
        "unit": within_name,
        "level": board.level.label,
        "period": period_label(board.period),
        "day": board.day.isoformat(),
    }
