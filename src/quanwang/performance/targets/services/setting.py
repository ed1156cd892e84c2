"""Setting a target at the top: a KPI, a period, what it is for (a unit, staff member, store or
enterprise account), a value and a deadline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import ServiceError
from quanwang.performance.choices import Grain
from quanwang.performance.models.targets import Target
from quanwang.performance.periods import Period, PeriodError, parse
from quanwang.performance.targets import kpis
from quanwang.performance.targets.choices import ChangeKind
from quanwang.performance.targets.services.common import as_decimal, record, require_unit, rounded
from quanwang.performance.targets.services.holders import holder


def checked_period(code: str) -> Period:
    try:
        return parse(code)
    except PeriodError as exc:
        raise ServiceError(str(exc), field="period") from None


def checked_grain(value: Grain | str) -> Grain:
    try:
        return Grain(value)
    except ValueError:
        raise ServiceError(_("Choose what the target is for."), field="grain") from None


def set_target(
    *,
    kpi: str,
    period: str,
    grain: Grain | str,
    key: str,
    value: Any,
    deadline: dt.date | None,
    by: Any,
    reason: str = "",
) -> Target:
    """Set (or reset) the target of `key` at `grain` for `kpi` over `period`.

    Refused, naming the field: an unknown KPI, a KPI whose fact table is missing (named), a
    grain the KPI lacks, a bad period, a deadline before the period starts, a value that is
    not a number, a target decomposed from a parent (changed with `change_target`, which asks
    where the difference goes). A unit outside `by`'s reach is NotFound. Setting the same
    value again changes nothing (a double submit)."""
    wanted_grain = checked_grain(grain)
    definition = kpis.targetable(kpi, grain=wanted_grain)
    parsed = checked_period(period)
    number = rounded(as_decimal(value, field="value"), definition)
    if number < 0:
        raise ServiceError(_("A target cannot be below zero."), field="value")
    deadline = deadline or parsed.end
    if deadline < parsed.start:
        raise ServiceError(
            _("The deadline %(deadline)s is before the period starts (%(start)s).")
            % {"deadline": deadline.isoformat(), "start": parsed.start.isoformat()},
            field="deadline",
        )
    found = holder(grain=wanted_grain, key=(key or "").strip())
    require_unit(by, unit_code=found.unit.code, action=Action.ADD)
    with transaction.atomic():
        existing = (
            Target.objects.select_for_update()
            .filter(kpi=kpi, period=parsed.code, grain=wanted_grain, key=found.key)
            .first()
        )
        if existing is None:
            try:
                with transaction.atomic():
                    target = Target.objects.create(
                        kpi=kpi,
                        period=parsed.code,
                        grain=wanted_grain,
                        key=found.key,
                        org_unit=found.unit,
                        staff=found.staff,
                        value=number,
                        deadline=deadline,
                        created_by=by if getattr(by, "pk", None) else None,
                    )
            except IntegrityError:
                # A concurrent submit created it first: this one is the same request.
                return Target.objects.get(
                    kpi=kpi, period=parsed.code, grain=wanted_grain, key=found.key
                )
            record(
                target=target, before=None, after=number, kind=ChangeKind.SET, by=by, reason=reason
            )
            return target
        if existing.value == number and existing.deadline == deadline:
            return existing
        if existing.parent_id is not None and existing.value != number:
            raise ServiceError(
                _(
                    "This target was decomposed from its parent: change it with the change "
                    "form, which asks where the difference goes."
                ),
                field="value",
            )
        before = existing.value
        existing.value = number
        existing.deadline = deadline
        existing.save(update_fields=["value", "deadline", "updated_at"])
        if before != number:
            record(
                target=existing,
                before=before,
                after=number,
                kind=ChangeKind.SET,
                by=by,
                reason=reason,
            )
        return existing
