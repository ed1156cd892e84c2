"""What a target is about: the unit, staff member, store or enterprise account a key names, the
unit it belongs to (who may read and set it), and the children a unit's target is decomposed
over."""

from __future__ import annotations

from dataclasses import dataclass

from quanwang.core.errors import NotFound
from quanwang.core.models import OrgUnit, Staff
from quanwang.performance.choices import Grain
from quanwang.performance.periods import Period


@dataclass(frozen=True)
class Holder:
    grain: Grain
    key: str
    unit: OrgUnit
    staff: Staff | None
    name: str


def holder(*, grain: Grain, key: str) -> Holder:
    """The holder `key` names at `grain`; NotFound when there is none (the same answer as one
    outside the user's reach)."""
    if grain is Grain.ORG_UNIT:
        unit = OrgUnit.objects.filter(code=key).first()
        if unit is None:
            raise NotFound
        return Holder(grain, key, unit, None, unit.name)
    if grain is Grain.STAFF:
        staff = Staff.objects.select_related("org_unit").filter(employee_no=key).first()
        if staff is None:
            raise NotFound
        return Holder(grain, key, staff.org_unit, staff, staff.name)
    if grain is Grain.STORE:
        from quanwang.channels.models import Store

        store = Store.objects.select_related("org_unit").filter(store_id=key).first()
        if store is None:
            raise NotFound
        return Holder(grain, key, store.org_unit, None, store.name)
    from quanwang.enterprise.models import Account

    account = Account.objects.select_related("org_unit").filter(enterprise_id=key).first()
    if account is None:
        raise NotFound
    return Holder(grain, key, account.org_unit, None, account.name)


def child_units(unit: OrgUnit) -> list[Holder]:
    return [
        Holder(Grain.ORG_UNIT, u.code, u, None, u.name)
        for u in OrgUnit.objects.filter(parent=unit).order_by("code")
    ]


def unit_staff(unit: OrgUnit, *, period: Period) -> list[Holder]:
    """The staff responsible for `unit` over `period`: those whose staff record is held at it,
    and those who held it (a grid manager's Responsibility) on any day of the period."""
    from django.db.models import Q

    from quanwang.performance.models.actuals import Responsibility

    responsible = Responsibility.objects.filter(grain=Grain.ORG_UNIT, key=unit.code).filter(
        Q(start__isnull=True) | Q(start__lte=period.end),
        Q(end__isnull=True) | Q(end__gte=period.start),
    )
    staff = (
        Staff.objects.select_related("org_unit")
        .filter(Q(org_unit=unit) | Q(pk__in=responsible.values("staff_id")))
        .order_by("employee_no")
    )
    return [Holder(Grain.STAFF, s.employee_no, s.org_unit, s, s.name) for s in staff]


def grid_stores(unit: OrgUnit) -> list[Holder]:
    from quanwang.channels.models import Store

    return [
        Holder(Grain.STORE, s.store_id, s.org_unit, None, s.name)
        for s in Store.objects.select_related("org_unit")
        .filter(org_unit=unit, active=True)
        .order_by("store_id")
    ]
