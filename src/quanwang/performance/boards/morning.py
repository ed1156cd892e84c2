"""The morning-meeting sheet (晨会): one page per team — a grid, a county, or an account
manager's own — printable and phone-sized:

- yesterday's results against target: the team's targets of the open periods with their
  progress (performance.targets.progress) as of the business day (the figures' own day);
- today's tasks and visits: campaign tasks not yet recorded (campaigns.tasks.listing), store
  visits due (channels.visits), enterprise visits due (enterprise.work), each through the
  app's own service with the user's scope;
- the team's place on the boards (reading.board_position among its peers);
- the customers most worth a call today: the open campaign tasks highest on their campaign's
  priority (uplift, or churn risk × value, by the campaign's basis), numbers and names masked
  by the task list.

Each source that fails (an app without data yet) leaves its section empty, never the page.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from quanwang.core.choices import OrgLevel
from quanwang.core.models import OrgUnit, Staff
from quanwang.performance.boards import reading
from quanwang.performance.boards.choices import BoardLevel
from quanwang.performance.choices import Grain
from quanwang.performance.periods import open_periods

logger = logging.getLogger(__name__)

#: Customers listed to call, and due items listed per kind.
CALLS = 10
DUE_SHOWN = 8


@dataclass(frozen=True)
class Place:
    board: str
    title: str
    position: reading.Position
    #: The board's period in words (a KPI has a month's and a quarter's board).
    period: str = ""


@dataclass(frozen=True)
class AtRisk:
    subscriber_id: str
    grid_id: str
    churn_risk: float
    clv_12m: float
    value_tier: str

    @property
    def tier_label(self) -> str:
        """The value tier in the page's language (the wide table keeps its code)."""
        from quanwang.insight.choices import ValueTier

        try:
            return str(ValueTier(self.value_tier).label)
        except ValueError:
            return self.value_tier

    @property
    def worth(self) -> float:
        """What keeping the customer is worth this year: risk × value."""
        return self.churn_risk * self.clv_12m


#: Customers listed when the team has no open task.
AT_RISK_LISTED = 10


def _at_risk(*, grid_codes: list[str]) -> list[AtRisk]:
    """The newest snapshot's customers of these grids by churn risk × 12-month value."""
    from quanwang.insight.duck import cursor
    from quanwang.insight.snapshots import SnapshotStore

    snapshot = SnapshotStore().latest()
    needed = {"subscriber_id", "grid_id", "churn_risk", "clv_12m", "value_tier"}
    if snapshot is None or not grid_codes or not needed <= set(snapshot.columns):
        return []
    rows = (
        cursor()
        .execute(
            f"select subscriber_id, grid_id, churn_risk, clv_12m, value_tier "
            f"from {snapshot.relation} where grid_id in (select unnest(?)) "
            "and churn_risk is not null and clv_12m is not null "
            "order by churn_risk * clv_12m desc, subscriber_id limit ?",
            [grid_codes, AT_RISK_LISTED],
        )
        .fetchall()
    )
    return [AtRisk(str(a), str(b), float(c), float(d), str(e or "")) for a, b, c, d, e in rows]


@dataclass
class MorningSheet:
    team_name: str
    team_code: str
    #: The figures' day (yesterday's results), None before the first actuals.
    business_day: dt.date | None
    today: dt.date
    results: list[Any] = field(default_factory=list)  # targets.progress.Progress
    task_counts: dict[str, int] = field(default_factory=dict)
    calls: list[Any] = field(default_factory=list)  # campaigns TaskRow (masked)
    #: With no open task: the team's customers of the newest snapshot with the highest churn
    #: risk × 12-month value (no personal data: the 360 page masks and scopes them).
    at_risk: list[AtRisk] = field(default_factory=list)
    store_visits: list[Any] = field(default_factory=list)
    store_visit_count: int = 0
    account_visits: list[Any] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    snapshot: str | None = None
    computed_at: dt.datetime | None = None


def _safely(what: str, call: Any, default: Any) -> Any:
    try:
        return call()
    except Exception:  # one source's failure leaves its section empty, never the page
        logger.exception("morning sheet: %s failed", what)
        return default


def _results(user: Any, *, grain: Grain, key: str, day: dt.date | None) -> list[Any]:
    from quanwang.performance.models.targets import Target
    from quanwang.performance.targets.progress import progress

    if day is None:
        return []
    periods = [p.code for p in open_periods(day)]
    targets = Target.objects.restrict(user).filter(grain=grain, key=key, period__in=periods)
    return [_line(progress(target=t, on=day)) for t in targets.order_by("period", "kpi")]


@dataclass(frozen=True)
class ResultLine:
    """One target's progress as the sheet writes it (names and numbers, no codes)."""

    name: str
    period: str
    target: str
    actual: str
    attainment: float | None
    pace: float | None
    behind: bool


def _line(progress: Any) -> ResultLine:
    from quanwang.core.formatting import MISSING
    from quanwang.performance.boards.present import grouped_number, period_label
    from quanwang.performance.targets.kpis import find

    definition = find(progress.kpi)
    places = definition.decimals if definition is not None else 2
    actual = progress.actual_value
    return ResultLine(
        name=str(definition.name) if definition is not None else progress.kpi,
        period=period_label(progress.period),
        target=grouped_number(progress.target, places),
        actual=grouped_number(actual, places) if actual is not None else MISSING,
        attainment=progress.attainment,
        pace=progress.pace,
        behind=progress.behind,
    )


def _places(level: BoardLevel, key: str, day: dt.date | None) -> list[Place]:
    from quanwang.performance.boards.present import board_title, period_label

    if day is None:
        return []
    found: list[Place] = []
    for code in reading.periods_of():
        for info in reading.boards_of(level=level, period=code):
            position = reading.board_position(level=level, key=key, board=info.board, period=code)
            if position is not None and position.rank is not None:
                found.append(
                    Place(
                        board=info.board,
                        title=board_title(info),
                        position=position,
                        period=period_label(code),
                    )
                )
    return found


def _tasks(
    user: Any, *, grid: str | None, account_manager: str | None
) -> tuple[dict[str, int], list[Any]]:
    from quanwang.campaigns.tasks.listing import TaskFilters, TaskState, task_list

    page = task_list(
        user=user,
        filters=TaskFilters(
            grid=grid, account_manager=account_manager, state=TaskState.NOT_RECORDED
        ),
        page_size=CALLS,
    )
    counts = {str(state.label): n for state, n in page.counts.items()}
    return counts, page.rows


def _store_visits(user: Any, *, unit: OrgUnit, today: dt.date) -> tuple[int, list[Any]]:
    from quanwang.channels.visits.services.plan import due_list

    due = due_list(user=user, today=today, within=unit)
    return len(due.rows), due.rows[:DUE_SHOWN]


def _account_visits(
    user: Any, *, path: str | None, staff: Staff | None, today: dt.date
) -> list[Any]:
    from quanwang.enterprise.work.services.plan import visits_due

    due = visits_due(user=user, on=today)
    if staff is not None:
        due = [d for d in due if d.account.account_manager_id == staff.pk] or due
    elif path is not None:
        due = [d for d in due if d.account.org_unit.path.startswith(path)]
    return due[:DUE_SHOWN]


def team_sheet(*, user: Any, unit: OrgUnit) -> MorningSheet:
    """The sheet of the team of `unit` (a grid or a county), as `user` may see it."""
    from quanwang.performance.actuals.reading import business_day
    from quanwang.performance.actuals.store import current

    day = business_day()
    today = timezone.localdate()
    version = current()
    sheet = MorningSheet(
        team_name=unit.name,
        team_code=unit.code,
        business_day=day,
        today=today,
        snapshot=version.snapshot if version else None,
        computed_at=version.computed_at_local if version else None,
    )
    sheet.results = _safely(
        "results", lambda: _results(user, grain=Grain.ORG_UNIT, key=unit.code, day=day), []
    )
    grid = unit.code if unit.level == OrgLevel.GRID else None
    sheet.task_counts, sheet.calls = _safely(
        "tasks", lambda: _tasks(user, grid=grid, account_manager=None), ({}, [])
    )
    sheet.store_visit_count, sheet.store_visits = _safely(
        "store visits", lambda: _store_visits(user, unit=unit, today=today), (0, [])
    )
    sheet.account_visits = _safely(
        "account visits",
        lambda: _account_visits(user, path=unit.path, staff=None, today=today),
        [],
    )
    if not sheet.calls:
        grids = list(
            OrgUnit.objects.filter(path__startswith=unit.path, level=OrgLevel.GRID).values_list(
                "code", flat=True
            )
        )
        sheet.at_risk = _safely("at risk", lambda: _at_risk(grid_codes=grids), [])
    level = BoardLevel.GRID if unit.level == OrgLevel.GRID else BoardLevel.COUNTY
    sheet.places = _safely("places", lambda: _places(level, unit.code, day), [])
    return sheet


def own_sheet(*, user: Any, staff: Staff) -> MorningSheet:
    """An account manager's (or any staff member's) own sheet."""
    from quanwang.performance.actuals.reading import business_day
    from quanwang.performance.actuals.store import current

    day = business_day()
    today = timezone.localdate()
    version = current()
    sheet = MorningSheet(
        team_name=staff.name,
        team_code=staff.employee_no,
        business_day=day,
        today=today,
        snapshot=version.snapshot if version else None,
        computed_at=version.computed_at_local if version else None,
    )
    sheet.results = _safely(
        "results", lambda: _results(user, grain=Grain.STAFF, key=staff.employee_no, day=day), []
    )
    sheet.task_counts, sheet.calls = _safely(
        "tasks", lambda: _tasks(user, grid=None, account_manager=staff.employee_no), ({}, [])
    )
    sheet.account_visits = _safely(
        "account visits", lambda: _account_visits(user, path=None, staff=staff, today=today), []
    )
    places: list[Place] = []
    for level in (BoardLevel.ACCOUNT_MANAGER, BoardLevel.GRID_MANAGER):
        places.extend(_safely("places", lambda lv=level: _places(lv, staff.employee_no, day), []))
    sheet.places = places
    return sheet
