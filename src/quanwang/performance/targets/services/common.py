"""What the target use cases share: who may touch which target, rounding to a KPI's digits,
writing history."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.performance.access import reader
from quanwang.performance.kpis.definitions import KpiDefinition
from quanwang.performance.models.targets import Target, TargetChange
from quanwang.performance.targets.choices import ChangeKind


def step(definition: KpiDefinition | None) -> Decimal:
    """The smallest amount a target of the KPI moves by (10^-decimals)."""
    decimals = definition.decimals if definition is not None else 0
    return Decimal(1).scaleb(-max(0, min(4, decimals)))


def rounded(value: Decimal, definition: KpiDefinition | None) -> Decimal:
    return value.quantize(step(definition), rounding=ROUND_HALF_UP)


def require_unit(by: Any, *, unit_code: str, action: Action) -> None:
    """NotFound (a 404) unless `by` may `action` targets at the unit `unit_code`."""
    if not reader(by, resource=Resource.TARGET, action=action).reaches_unit(unit_code):
        raise NotFound


def require_target(by: Any, *, target_id: int, action: Action) -> Target:
    """The target, when `by` may `action` it; NotFound otherwise (outside the scope is the
    same as missing)."""
    found = (
        Target.objects.restrict(by, action)
        .select_related("org_unit", "staff", "parent")
        .filter(pk=target_id)
        .first()
    )
    if found is None:
        raise NotFound
    return found


def record(
    *,
    target: Target,
    before: Decimal | None,
    after: Decimal,
    kind: ChangeKind,
    by: Any,
    reason: str,
) -> TargetChange:
    return TargetChange.objects.create(
        target=target,
        before=before,
        after=after,
        kind=kind,
        reason=reason[:300],
        changed_by=by if getattr(by, "pk", None) else None,
    )


def as_decimal(value: Any, *, field: str) -> Decimal:
    """`value` as a Decimal; ServiceError naming `field` when it is not a finite number."""
    from django.utils.translation import gettext as _

    from quanwang.core.errors import ServiceError

    try:
        number = Decimal(str(value).strip())
    except (ArithmeticError, ValueError):
        raise ServiceError(
            _("“%(value)s” is not a number.") % {"value": value}, field=field
        ) from None
    if not number.is_finite():
        raise ServiceError(_("“%(value)s” is not a number.") % {"value": value}, field=field)
    return number
