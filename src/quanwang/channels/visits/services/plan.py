"""The visit plan by grade (拜访计划): how many days may pass between two visits to a store of
each grade, and which stores are due or overdue a visit.

The province sets the intervals (Resource.CHANNEL_RULES); a unit below may set its own for its
stores, and the deepest unit's rule wins. Where no unit set one, the defaults hold: 重点店
weekly, 钉子店 fortnightly, 芝麻店 and stores without a grade monthly. A store never visited is
due at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from quanwang.channels.choices import StoreGrade, StoreType
from quanwang.channels.models import Store, VisitPlanRule
from quanwang.channels.models.visits import MAX_INTERVAL_DAYS
from quanwang.channels.visits.choices import DueState
from quanwang.channels.visits.services.scope import stores_for
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.services.orgs import units_granting

#: The grades a plan covers, the stores without a grade ("") last.
PLAN_GRADES: tuple[str, ...] = (StoreGrade.KEY, StoreGrade.ANCHOR, StoreGrade.SMALL, "")
WEEKLY, FORTNIGHTLY, MONTHLY = 7, 14, 30
DEFAULT_INTERVALS: Mapping[str, int] = {
    StoreGrade.KEY: WEEKLY,
    StoreGrade.ANCHOR: FORTNIGHTLY,
    StoreGrade.SMALL: MONTHLY,
    "": MONTHLY,
}
#: A store is listed as due this many days before its next visit falls due, so that a week's
#: round can be planned.
DUE_AHEAD_DAYS = 2
_STATE_ORDER = {DueState.OVERDUE: 0, DueState.NEVER: 1, DueState.DUE: 2, DueState.ON_PLAN: 3}


def grade_label(grade: str) -> str:
    return str(StoreGrade(grade).label) if grade in StoreGrade.values else _("No grade")


def _ancestors(path: str) -> list[str]:
    """The paths of the unit at `path` and of every unit above it, the deepest first."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:n]) + "/" for n in range(len(parts), 0, -1)]


@dataclass(frozen=True)
class Plan:
    """The intervals in force: each setting unit's path → grade → days."""

    rules: Mapping[str, Mapping[str, int]]

    @classmethod
    def load(cls) -> Plan:
        # Configuration that every store's plan follows: read whole, not narrowed to a user.
        rules: dict[str, dict[str, int]] = {}
        for path, grade, days in VisitPlanRule.objects.values_list(
            "org_unit__path", "grade", "interval_days"
        ):
            rules.setdefault(path, {})[grade] = days
        return cls(rules)

    def source(self, *, org_path: str, grade: str) -> str | None:
        """The path of the unit whose rule sets this interval (None: the default)."""
        key = grade if grade in StoreGrade.values else ""
        for path in _ancestors(org_path):
            if key in self.rules.get(path, {}):
                return path
        return None

    def interval(self, *, org_path: str, grade: str) -> int:
        key = grade if grade in StoreGrade.values else ""
        found = self.source(org_path=org_path, grade=key)
        return self.rules[found][key] if found is not None else DEFAULT_INTERVALS[key]

    def planned_in(self, *, org_path: str, grade: str, days: int) -> int:
        """Visits planned over `days` days (a month): one per interval, at least one."""
        return max(1, days // self.interval(org_path=org_path, grade=grade))


@dataclass(frozen=True)
class PlanRow:
    grade: str
    label: str
    interval_days: int
    #: The unit whose rule sets it; None: the default.
    set_by: OrgUnit | None


def plan_rows(*, org_unit: OrgUnit, plan: Plan | None = None) -> list[PlanRow]:
    """The intervals in force for the stores of `org_unit`, grade by grade."""
    plan = plan or Plan.load()
    sources = {grade: plan.source(org_path=org_unit.path, grade=grade) for grade in PLAN_GRADES}
    units = {u.path: u for u in OrgUnit.objects.filter(path__in=[p for p in sources.values() if p])}
    return [
        PlanRow(
            grade=grade,
            label=grade_label(grade),
            interval_days=plan.interval(org_path=org_unit.path, grade=grade),
            set_by=units.get(sources[grade] or ""),
        )
        for grade in PLAN_GRADES
    ]


def plan_field(grade: str) -> str:
    """The form field of a grade's interval."""
    fields: dict[str, str] = {
        StoreGrade.KEY: "key",
        StoreGrade.ANCHOR: "anchor",
        StoreGrade.SMALL: "small",
    }
    return fields.get(grade, "ungraded")


def set_plan(*, user: Any, org_unit: OrgUnit, intervals: Mapping[str, int]) -> None:
    """Set the days between visits of each grade for the stores of `org_unit`."""
    may_change = units_granting(user=user, resource=Resource.CHANNEL_RULES, action=Action.CHANGE)
    if not may_change.filter(pk=org_unit.pk).exists():
        raise NotFound()
    for grade, days in intervals.items():
        if grade not in PLAN_GRADES:
            raise ServiceError(_("Unknown grade %(grade)r.") % {"grade": grade})
        if not 1 <= days <= MAX_INTERVAL_DAYS:
            raise ServiceError(
                _("%(grade)s: the days between visits must be from 1 to %(most)s.")
                % {"grade": grade_label(grade), "most": MAX_INTERVAL_DAYS},
                field=plan_field(grade),
            )
    with transaction.atomic():
        for grade, days in intervals.items():
            VisitPlanRule.objects.update_or_create(
                org_unit=org_unit,
                grade=grade,
                defaults={"interval_days": days, "updated_by": user},
            )


@dataclass(frozen=True)
class StorePlanState:
    """Where one store stands against its plan on a day."""

    store_pk: int
    store_id: str
    name: str
    grade: str
    grade_label: str
    store_type_label: str
    unit_name: str
    interval_days: int
    last_visit: dt.date | None
    #: When the next visit falls due (a store never visited: today).
    due_on: dt.date
    state: DueState
    #: Days past `due_on` (0 unless overdue).
    days_overdue: int


def plan_state(
    *,
    store_pk: int,
    store_id: str,
    name: str,
    grade: str,
    store_type: str,
    unit_name: str,
    org_path: str,
    last_visit: dt.date | None,
    today: dt.date,
    plan: Plan,
) -> StorePlanState:
    interval = plan.interval(org_path=org_path, grade=grade)
    if last_visit is None:
        due_on, state = today, DueState.NEVER
    else:
        due_on = last_visit + dt.timedelta(days=interval)
        if due_on < today:
            state = DueState.OVERDUE
        elif due_on <= today + dt.timedelta(days=DUE_AHEAD_DAYS):
            state = DueState.DUE
        else:
            state = DueState.ON_PLAN
    return StorePlanState(
        store_pk=store_pk,
        store_id=store_id,
        name=name,
        grade=grade,
        grade_label=grade_label(grade),
        store_type_label=str(StoreType(store_type).label)
        if store_type in StoreType.values
        else store_type,
        unit_name=unit_name,
        interval_days=interval,
        last_visit=last_visit,
        due_on=due_on,
        state=state,
        days_overdue=(today - due_on).days if state == DueState.OVERDUE else 0,
    )


def store_plan_state(*, store: Store, today: dt.date, plan: Plan | None = None) -> StorePlanState:
    last = store.visits.aggregate(last=Max("visited_on"))["last"]
    return plan_state(
        store_pk=store.pk,
        store_id=store.store_id,
        name=store.name,
        grade=store.grade,
        store_type=store.store_type,
        unit_name=store.org_unit.name,
        org_path=store.org_unit.path,
        last_visit=last,
        today=today,
        plan=plan or Plan.load(),
    )


@dataclass(frozen=True)
class DueList:
    rows: list[StorePlanState]
    counts: dict[DueState, int]


def due_list(
    *, user: Any, today: dt.date, everything: bool = False, within: OrgUnit | None = None
) -> DueList:
    """The active stores in `user`'s reach (and `within` a unit) that are due or overdue a
    visit (`everything`: all of them), the most urgent first: overdue (longest overdue
    first), never visited, due."""
    plan = Plan.load()
    stores = stores_for(user=user, resource=Resource.STORE_VISIT, action=Action.VIEW)
    if within is not None:
        stores = stores.filter(org_unit__path__startswith=within.path)
    rows = (
        stores.filter(active=True)
        .annotate(last=Max("visits__visited_on"))
        .values_list(
            "pk", "store_id", "name", "grade", "store_type", "org_unit__name", "org_unit__path",
            "last",
        )
    )  # fmt: skip
    states = [
        plan_state(
            store_pk=pk,
            store_id=store_id,
            name=name,
            grade=grade,
            store_type=store_type,
            unit_name=unit_name,
            org_path=path,
            last_visit=last,
            today=today,
            plan=plan,
        )
        for pk, store_id, name, grade, store_type, unit_name, path, last in rows
    ]
    counts = dict.fromkeys(DueState, 0)
    for state in states:
        counts[state.state] += 1
    shown = states if everything else [s for s in states if s.state != DueState.ON_PLAN]
    shown.sort(key=lambda s: (_STATE_ORDER[s.state], s.due_on, s.store_id))
    return DueList(rows=shown, counts=counts)
