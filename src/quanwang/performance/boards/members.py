"""Who stands on each board level: counties, grids, grid managers, account managers, stores,
with their names and the unit each belongs to (its path decides who may see the entry)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from quanwang.core.choices import OrgLevel, Role
from quanwang.core.models import OrgUnit, RoleAssignment, Staff
from quanwang.performance.actuals.choices import ResponsibilityKind
from quanwang.performance.boards.choices import BoardLevel
from quanwang.performance.models.actuals import Responsibility


@dataclass(frozen=True, slots=True)
class Member:
    key: str
    name: str
    #: The unit the entry belongs to (the unit itself; a person's or a store's unit).
    org_unit: str
    path: str


_ROLE_OF = {
    BoardLevel.GRID_MANAGER: (Role.GRID_MANAGER, ResponsibilityKind.GRID_MANAGER),
    BoardLevel.ACCOUNT_MANAGER: (Role.ACCOUNT_MANAGER, ResponsibilityKind.ACCOUNT_MANAGER),
}


def members(level: BoardLevel | str, *, on: dt.date | None = None) -> dict[str, Member]:
    """key → Member of every entry of `level`. A person is a grid (account) manager when they
    hold that responsibility on `on` (performance.actuals.attribution; any open one when `on`
    is None) or the role in the console."""
    level = BoardLevel(level)
    if level in (BoardLevel.COUNTY, BoardLevel.GRID):
        unit_level = OrgLevel.COUNTY if level is BoardLevel.COUNTY else OrgLevel.GRID
        return {
            code: Member(key=code, name=name, org_unit=code, path=path)
            for code, name, path in OrgUnit.objects.filter(level=unit_level).values_list(
                "code", "name", "path"
            )
        }
    if level is BoardLevel.STORE:
        from quanwang.channels.models import Store

        return {
            store_id: Member(key=store_id, name=name, org_unit=code, path=path)
            for store_id, name, code, path in Store.objects.filter(active=True).values_list(
                "store_id", "name", "org_unit__code", "org_unit__path"
            )
        }
    role, kind = _ROLE_OF[level]
    held = Responsibility.objects.filter(kind=kind)
    if on is None:
        held = held.filter(end__isnull=True)
    else:
        held = held.filter(Q(start__isnull=True) | Q(start__lte=on)).filter(
            Q(end__isnull=True) | Q(end__gte=on)
        )
    by_role = RoleAssignment.objects.filter(role=role).values("user_id")
    staff = Staff.objects.filter(
        Q(pk__in=held.values("staff_id")) | Q(user_id__in=by_role)
    ).values_list("employee_no", "name", "org_unit__code", "org_unit__path")
    return {
        number: Member(key=number, name=name, org_unit=code, path=path)
        for number, name, code, path in staff
    }
