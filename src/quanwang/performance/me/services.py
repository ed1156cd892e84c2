"""What a staff member's own page shows, read through each part's services.

Everything here is the login's own: its staff record's targets (Reach.OWN reads them too),
its entries on the boards of its role, its grade card and its statements. Nobody else's
personal figures are read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from quanwang.core.errors import NotFound
from quanwang.core.models import Staff
from quanwang.performance.actuals.store import ActualsVersion, current
from quanwang.performance.boards.choices import BoardLevel
from quanwang.performance.boards.reading import Position as BoardPosition
from quanwang.performance.boards.reading import board_position
from quanwang.performance.choices import Grain, PeriodKind
from quanwang.performance.grades.services.reading import card
from quanwang.performance.kpis.catalogue import catalogue
from quanwang.performance.models import CompositeScore, IncentiveStatement, Target
from quanwang.performance.periods import period_of
from quanwang.performance.targets.progress import Progress, progress

#: The boards a staff member may stand on, by the role their login holds.
OWN_LEVELS = (BoardLevel.GRID_MANAGER, BoardLevel.ACCOUNT_MANAGER)
#: Statements shown on the page (the newest first); the list page has them all.
STATEMENTS_SHOWN = 6


@dataclass(frozen=True)
class BoardPlace:
    level: BoardLevel
    board: str
    board_label: str
    period: str
    position: BoardPosition


@dataclass
class MyPerformance:
    staff: Staff | None
    version: ActualsVersion | None
    #: (target, its progress, the KPI's Chinese name).
    targets: list[tuple[Target, Progress, str]] = field(default_factory=list)
    places: list[BoardPlace] = field(default_factory=list)
    grade: Any = None
    statements: list[IncentiveStatement] = field(default_factory=list)


def my_performance(*, user: Any, day: dt.date | None = None) -> MyPerformance:
    """The login's own figures (an empty page without a staff record)."""
    staff = Staff.objects.filter(user_id=user.pk).select_related("org_unit").first()
    version = current()
    if staff is None:
        return MyPerformance(staff=None, version=version)
    on = day or (version.as_of if version else dt.date.today())
    periods = [period_of(kind, on).code for kind in (PeriodKind.MONTH, PeriodKind.QUARTER)]
    targets = list(
        Target.objects.restrict(user)
        .filter(grain=Grain.STAFF, key=staff.employee_no, period__in=periods)
        .order_by("period", "kpi")
    )
    result = MyPerformance(staff=staff, version=version)
    names = {code: str(d.name) for code, d in catalogue().items()}
    if version is not None:
        result.targets = [
            (t, progress(target=t, on=on, version=version), names.get(t.kpi, t.kpi))
            for t in targets
        ]
    result.places = _places(staff=staff, periods=periods, kpis=[t.kpi for t in targets])
    try:
        result.grade = card(user=user, employee_no=staff.employee_no, day=on)
    except NotFound:
        result.grade = None  # a role that reads no grades (a channel manager's login)
    result.statements = list(
        IncentiveStatement.objects.restrict(user)
        .filter(staff=staff)
        .order_by("-month")[:STATEMENTS_SHOWN]
    )
    return result


def _places(*, staff: Staff, periods: list[str], kpis: list[str]) -> list[BoardPlace]:
    # The composite scores first (the board the team is ranked by), then the KPIs of the
    # staff member's own targets.
    boards: dict[str, str] = dict(
        CompositeScore.objects.filter(active=True).order_by("code").values_list("code", "name")
    )
    known = catalogue()
    for code in dict.fromkeys(kpis):
        if code in known:
            boards.setdefault(code, str(known[code].name))
    found: list[BoardPlace] = []
    for level in OWN_LEVELS:
        for board, label in boards.items():
            for period in periods:
                position = board_position(
                    level=level, key=staff.employee_no, board=board, period=period
                )
                if position is not None:
                    found.append(BoardPlace(level, board, label, period, position))
    return found
