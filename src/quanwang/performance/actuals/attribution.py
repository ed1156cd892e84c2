"""Who is responsible for which grid, store or enterprise account, and since when.

Attribution rule (by date of fact): a fact belongs to whoever held its grid, store or account
on the fact's day; a monthly fact is dated on its month's last day (or on the business day for
the running month), so a month's billed figures go to whoever held the grid at its end. A
staff member who moves mid-period keeps the facts of the days they held the old grid, and the
new holder gets the rest: nothing is counted twice and nothing is lost between them.

Holders:
- grid managers (网格长): the staff record of a login holding Role.GRID_MANAGER at a grid
  (the console is newer than any file), else the warehouse's `grids.manager_employee_no`;
- enterprise account managers (客户经理): the lead of each account in the enterprise account
  file (enterprise.Account.account_manager, kept in step by the enterprise app);
- store clerks (店员): assigned by hand (`assign_clerk`); a store may have several.

`sync_responsibilities(on=)` brings grids and accounts in step: a changed holder's interval is
closed the day before `on`, the new one opens on `on`. The first holder ever seen of a key holds
it from the start of the records (start NULL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, OrgLevel, Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit, RoleAssignment, Staff
from quanwang.performance.actuals.choices import ResponsibilityKind, ResponsibilitySource
from quanwang.performance.choices import Grain
from quanwang.performance.models.actuals import Responsibility

GRAIN_OF: dict[ResponsibilityKind, Grain] = {
    ResponsibilityKind.GRID_MANAGER: Grain.ORG_UNIT,
    ResponsibilityKind.ACCOUNT_MANAGER: Grain.ACCOUNT,
    ResponsibilityKind.STORE_CLERK: Grain.STORE,
}

#: Columns of the bulk table the computation joins the base values with.
INTERVAL_SCHEMA = pa.schema(
    [
        ("employee_no", pa.string()),
        ("staff_unit", pa.string()),  # the unit the staff record is held at (who may read it)
        ("grain", pa.string()),
        ("key", pa.string()),
        ("start", pa.date32()),  # null: from the start of the records
        ("end", pa.date32()),  # null: still held
    ]
)
STAFF_SCHEMA = pa.schema([("employee_no", pa.string()), ("staff_unit", pa.string())])


@dataclass(frozen=True)
class Interval:
    grain: Grain
    key: str
    start: dt.date | None
    end: dt.date | None

    def holds(self, day: dt.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class SyncReport:
    opened: int
    closed: int
    unchanged: int


def intervals_for(employee_no: str) -> list[Interval]:
    """Every grid, store and account the staff member held, with the days they held it."""
    rows = Responsibility.objects.filter(staff__employee_no=employee_no).order_by(
        "grain", "key", "start", "pk"
    )
    return [Interval(Grain(r.grain), r.key, r.start, r.end) for r in rows]


def interval_table() -> pa.Table:
    """All responsibilities as one Arrow table (INTERVAL_SCHEMA) for the computation."""
    rows = Responsibility.objects.values_list(
        "staff__employee_no", "staff__org_unit__code", "grain", "key", "start", "end"
    )
    names = INTERVAL_SCHEMA.names
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.Table.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, INTERVAL_SCHEMA, strict=True)],
        schema=INTERVAL_SCHEMA,
    )


def staff_table() -> pa.Table:
    """employee_no → the unit code their staff record is held at (STAFF_SCHEMA)."""
    rows = list(Staff.objects.values_list("employee_no", "org_unit__code"))
    return pa.Table.from_pylist(
        [{"employee_no": e, "staff_unit": u} for e, u in rows], schema=STAFF_SCHEMA
    )


def sync_responsibilities(*, on: dt.date, grid_holders: dict[str, str] | None = None) -> SyncReport:
    """Bring the grid managers and account managers in step with their sources on day `on`.

    `grid_holders` (grid code → employee number) replaces the warehouse's grid file, for tests
    and callers that read it already. Idempotent: a second run on the same day changes nothing.
    """
    wanted: dict[tuple[ResponsibilityKind, str], int] = {}
    by_role = _role_grids()
    for grid, staff_id in _grid_managers(grid_holders, by_role=by_role).items():
        wanted[(ResponsibilityKind.GRID_MANAGER, grid)] = staff_id
    for enterprise_id, staff_id in _account_managers().items():
        wanted[(ResponsibilityKind.ACCOUNT_MANAGER, enterprise_id)] = staff_id
    opened = closed = unchanged = 0
    kinds = [ResponsibilityKind.GRID_MANAGER, ResponsibilityKind.ACCOUNT_MANAGER]
    with transaction.atomic():
        # Locked in a fixed order so that two syncs never interleave their closes and opens.
        current = {
            (ResponsibilityKind(r.kind), r.key): r
            for r in Responsibility.objects.select_for_update()
            .filter(kind__in=kinds, end__isnull=True)
            .order_by("pk")
        }
        seen = set(
            Responsibility.objects.filter(kind__in=kinds).values_list("kind", "key").distinct()
        )
        for (kind, key), held in sorted(current.items()):
            if wanted.get((kind, key)) == held.staff_id:
                unchanged += 1
                continue
            _close(held, on=on)
            closed += 1
        for (kind, key), staff_id in sorted(wanted.items()):
            held = current.get((kind, key))
            if held is not None and held.staff_id == staff_id:
                continue
            Responsibility.objects.create(
                staff_id=staff_id,
                kind=kind,
                grain=GRAIN_OF[kind],
                key=key,
                start=on if (kind.value, key) in seen else None,
                source=(
                    ResponsibilitySource.ACCOUNT_FILE
                    if kind is ResponsibilityKind.ACCOUNT_MANAGER
                    else ResponsibilitySource.ROLE
                    if by_role.get(key) == staff_id
                    else ResponsibilitySource.WAREHOUSE
                ),
            )
            opened += 1
    return SyncReport(opened=opened, closed=closed, unchanged=unchanged)


def _close(held: Responsibility, *, on: dt.date) -> None:
    """End `held` the day before `on`; one that began on `on` or later never held a day and is
    removed (a holder changed twice in one day)."""
    if held.start is not None and held.start >= on:
        held.delete()
        return
    held.end = on - dt.timedelta(days=1)
    held.save(update_fields=["end"])


def _role_grids() -> dict[str, int]:
    """grid code → staff id of the login holding Role.GRID_MANAGER there (the lowest employee
    number when several do, so the choice is stable)."""
    found: dict[str, tuple[str, int]] = {}
    assignments = RoleAssignment.objects.filter(
        role=Role.GRID_MANAGER, org_unit__level=OrgLevel.GRID
    ).values_list("org_unit__code", "user_id")
    staff_of = {
        user_id: (no, pk)
        for user_id, no, pk in Staff.objects.filter(user__isnull=False).values_list(
            "user_id", "employee_no", "pk"
        )
    }
    for grid, user_id in assignments:
        if user_id in staff_of:
            candidate = staff_of[user_id]
            if grid not in found or candidate < found[grid]:
                found[grid] = candidate
    return {grid: pk for grid, (_no, pk) in found.items()}


def _grid_managers(
    grid_holders: dict[str, str] | None, *, by_role: dict[str, int]
) -> dict[str, int]:
    numbers = grid_holders if grid_holders is not None else _warehouse_grid_holders()
    grids = set(OrgUnit.objects.filter(level=OrgLevel.GRID).values_list("code", flat=True))
    staff = dict(
        Staff.objects.filter(employee_no__in=set(numbers.values())).values_list("employee_no", "pk")
    )
    chosen = {g: staff[n] for g, n in numbers.items() if g in grids and n in staff}
    chosen.update(by_role)
    return chosen


def _warehouse_grid_holders() -> dict[str, str]:
    from quanwang.data.warehouse import Warehouse

    path = Warehouse().read_file("grids")
    if path is None:
        return {}
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute(
            "select grid_id, manager_employee_no from read_parquet(?) "
            "where manager_employee_no is not null and manager_employee_no <> ''",
            [str(path)],
        ).fetchall()
    finally:
        con.close()
    return {str(g): str(n) for g, n in rows}


def _account_managers() -> dict[str, int]:
    try:
        from quanwang.enterprise.models import Account
    except ImportError:  # the enterprise app is optional to this one
        return {}
    return dict(
        Account.objects.filter(account_manager__isnull=False, active=True).values_list(
            "enterprise_id", "account_manager_id"
        )
    )


# --- store clerks (by hand) ------------------------------------------------------------------


def _store_in_scope(user: Any, store_id: str, action: Action) -> Any:
    from quanwang.channels.models import Store

    store = Store.objects.restrict(user, action).filter(store_id=store_id).first()
    if store is None:
        raise NotFound
    return store


def _staff_in_scope(user: Any, employee_no: str) -> Staff:
    staff = (
        Staff.objects.restrict(user, Action.CHANGE).filter(employee_no=employee_no).first()
        if employee_no
        else None
    )
    if staff is None:
        raise ServiceError(
            _("No staff member with employee number “%(no)s” in your scope.") % {"no": employee_no},
            field="employee_no",
        )
    return staff


def assign_clerk(*, actor: Any, store_id: str, employee_no: str, start: dt.date) -> Responsibility:
    """Make the staff member a clerk of the store from `start` (STAFF CHANGE over the staff's
    unit and the store in view). Assigning an open clerk again returns the same interval."""
    store = _store_in_scope(actor, store_id, Action.VIEW)
    staff = _staff_in_scope(actor, employee_no)
    existing = Responsibility.objects.filter(
        staff=staff, kind=ResponsibilityKind.STORE_CLERK, key=store.store_id, end__isnull=True
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Responsibility.objects.create(
                staff=staff,
                kind=ResponsibilityKind.STORE_CLERK,
                grain=Grain.STORE,
                key=store.store_id,
                start=start,
                source=ResponsibilitySource.HAND,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        # A double submit raced us to it: the unique constraint kept one; hand that back.
        return Responsibility.objects.get(
            staff=staff, kind=ResponsibilityKind.STORE_CLERK, key=store.store_id, end__isnull=True
        )


def end_clerk(*, actor: Any, responsibility_id: int, end: dt.date) -> Responsibility:
    """The clerk leaves the store after `end` (their last day)."""
    with transaction.atomic():
        held = (
            Responsibility.objects.restrict(actor, Action.VIEW)
            .select_for_update()
            .filter(pk=responsibility_id, kind=ResponsibilityKind.STORE_CLERK)
            .first()
        )
        if held is None:
            raise NotFound
        _staff_in_scope(actor, held.staff.employee_no)
        if held.end is not None:
            return held
        if held.start is not None and end < held.start:
            raise ServiceError(
                _("The last day cannot be before the first (%(start)s).") % {"start": held.start},
                field="end",
            )
        held.end = end
        held.save(update_fields=["end"])
        return held


def holders(*, grain: Grain, keys: Iterable[str]) -> dict[str, list[Responsibility]]:
    """key → its responsibilities, newest first (for pages)."""
    found: dict[str, list[Responsibility]] = {}
    rows = (
        Responsibility.objects.filter(grain=grain, key__in=list(keys))
        .select_related("staff")
        .order_by("key", "-start", "-pk")
    )
    for row in rows:
        found.setdefault(row.key, []).append(row)
    return found


def responsibilities_under(*, user: Any, unit: OrgUnit) -> list[Responsibility]:
    """Responsibilities of the staff held in `unit`'s subtree that `user` may read."""
    return list(
        Responsibility.objects.restrict(user, Action.VIEW)
        .filter(staff__org_unit__path__startswith=unit.path)
        .select_related("staff", "staff__org_unit")
        .order_by("kind", "key", "-start", "-pk")
    )


__all__ = [
    "GRAIN_OF",
    "INTERVAL_SCHEMA",
    "Interval",
    "SyncReport",
    "assign_clerk",
    "end_clerk",
    "holders",
    "interval_table",
    "intervals_for",
    "responsibilities_under",
    "staff_table",
    "sync_responsibilities",
]
