"""Decomposing a unit's target over its children: the units one level down, the staff
responsible for the unit, or the stores of a grid.

Rules: by last period's share (the children's actuals of the KPI in the previous period), by
customer base (the customers KPI), by potential (a basis KPI such as the win-over pool), or
manually (values that must add up to the parent). For a sum KPI the children add up to the
parent exactly (largest-remainder rounding to the KPI's decimals); a ratio KPI's children get
the parent's rate, since a rate does not split. Locked children keep their values and the
others share the rest. Decomposing again updates the children in place, with history.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import ServiceError
from quanwang.performance.actuals import reading
from quanwang.performance.choices import Aggregation, Grain
from quanwang.performance.kpis.definitions import KpiDefinition
from quanwang.performance.models.targets import Target
from quanwang.performance.periods import parse
from quanwang.performance.targets import kpis
from quanwang.performance.targets.choices import ChangeKind, Into, Rule
from quanwang.performance.targets.services.common import (
    as_decimal,
    record,
    require_target,
    rounded,
    step,
)
from quanwang.performance.targets.services.holders import (
    Holder,
    child_units,
    grid_stores,
    unit_staff,
)
from quanwang.performance.targets.services.sharing import share

#: The KPI "by customer base" reads (performance.kpis' customers KPI).
CUSTOMERS_KPI = "customers"

_CHILD_GRAIN = {Into.UNITS: Grain.ORG_UNIT, Into.STAFF: Grain.STAFF, Into.STORES: Grain.STORE}


def _choice(enum: Any, value: Any, *, field: str, message: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise ServiceError(message, field=field) from None


def candidates(*, parent: Target, into: Into) -> list[Holder]:
    """Whom `parent` can be decomposed over."""
    if parent.grain != Grain.ORG_UNIT:
        raise ServiceError(
            _(
                "Only a unit's target is decomposed; this one is a person's, a store's or an "
                "account's."
            ),
            field="into",
        )
    if into is Into.UNITS:
        found = child_units(parent.org_unit)
    elif into is Into.STAFF:
        found = unit_staff(parent.org_unit, period=parse(parent.period))
    else:
        found = grid_stores(parent.org_unit)
    if not found:
        raise ServiceError(
            _("%(unit)s has nobody to decompose over: %(into)s.")
            % {"unit": parent.org_unit.name, "into": into.label},
            field="into",
        )
    return found


def _weights(
    *,
    parent: Target,
    rule: Rule,
    grain: Grain,
    keys: list[str],
    basis_kpi: str | None,
) -> tuple[list[float], str]:
    """The children's weights under `rule`, and the basis KPI used."""
    period = parse(parent.period)
    if rule is Rule.LAST_SHARE:
        basis, periods = parent.kpi, [period.previous().code]
    elif rule is Rule.CUSTOMER_BASE:
        basis, periods = CUSTOMERS_KPI, [period.code, period.previous().code]
    else:
        if not basis_kpi:
            raise ServiceError(_("Choose the KPI that measures the potential."), field="basis_kpi")
        if kpis.find(basis_kpi) is None:
            raise ServiceError(
                _("There is no KPI “%(code)s”.") % {"code": basis_kpi}, field="basis_kpi"
            )
        basis, periods = basis_kpi, [period.code, period.previous().code]
    for code in periods:
        found = reading.figures(kpi=basis, grain=grain, period=code, keys=keys)
        weights = [max(0.0, found[k].value or 0.0) if k in found else 0.0 for k in keys]
        if any(weights):
            return weights, basis
    name = kpis.find(basis)
    raise ServiceError(
        _(
            "There are no figures of %(kpi)s for these children in %(period)s to share by: "
            "choose another rule."
        )
        % {"kpi": name.name if name else basis, "period": periods[0]},
        field="rule",
    )


def _manual(
    manual: Mapping[str, Any] | None, *, keys: list[str], definition: KpiDefinition
) -> dict[str, Decimal]:
    if not manual:
        raise ServiceError(_("Give each child's value."), field="manual")
    unknown = sorted(set(manual) - set(keys))
    if unknown:
        raise ServiceError(
            _("%(keys)s are not children of this target.") % {"keys": "、".join(unknown)},
            field="manual",
        )
    values = {k: rounded(as_decimal(v, field="manual"), definition) for k, v in manual.items()}
    if any(v < 0 for v in values.values()):
        raise ServiceError(_("A target cannot be below zero."), field="manual")
    return values


def decompose(
    *,
    parent: Target,
    rule: Rule | str,
    into: Into | str,
    by: Any,
    reason: str = "",
    basis_kpi: str | None = None,
    manual: Mapping[str, Any] | None = None,
) -> list[Target]:
    """Decompose `parent` over its children (see the module); returns them, in key order.
    Nothing is saved when it is refused."""
    chosen_rule = _choice(Rule, rule, field="rule", message=_("Choose how to decompose."))
    chosen_into = _choice(Into, into, field="into", message=_("Choose whom to decompose over."))
    parent = require_target(by, target_id=parent.pk, action=Action.CHANGE)
    definition = kpis.definition(parent.kpi)
    grain = _CHILD_GRAIN[chosen_into]
    try:
        kpis.targetable(parent.kpi, grain=grain)
    except ServiceError as exc:
        raise ServiceError(exc.message, field="into") from None
    holders = {h.key: h for h in candidates(parent=parent, into=chosen_into)}
    with transaction.atomic():
        # Parent first, then its children by id: every use case locks a family in this order.
        parent = Target.objects.select_for_update().select_related("org_unit").get(pk=parent.pk)
        existing = {
            t.key: t
            for t in Target.objects.select_for_update()
            .filter(kpi=parent.kpi, period=parent.period, grain=grain, key__in=list(holders))
            .order_by("pk")
        }
        existing |= {
            t.key: t
            for t in Target.objects.select_for_update().filter(parent=parent).order_by("pk")
        }
        for key, found in existing.items():
            if found.parent_id not in (None, parent.pk):
                raise ServiceError(
                    _("%(key)s already has a target decomposed from another one.") % {"key": key},
                    field="into",
                )
        keys = sorted(set(holders) | set(existing))
        locked = {k for k in keys if k in existing and existing[k].locked}
        unlocked = [k for k in keys if k not in locked]
        values = _values(
            parent=parent,
            definition=definition,
            rule=chosen_rule,
            grain=grain,
            keys=keys,
            locked={k: existing[k].value for k in locked},
            unlocked=unlocked,
            basis_kpi=basis_kpi,
            manual=manual,
        )
        basis = values.pop("", None)
        label = chosen_rule.label
        why = f"{label}: {reason}" if reason else str(label)
        children = []
        for key in keys:
            if key in locked:
                children.append(existing[key])
                continue
            target = existing.get(key)
            if target is None:
                holder = holders[key]
                target = Target.objects.create(
                    kpi=parent.kpi,
                    period=parent.period,
                    grain=grain,
                    key=key,
                    org_unit=holder.unit,
                    staff=holder.staff,
                    parent=parent,
                    value=values[key],
                    deadline=parent.deadline,
                    created_by=by if getattr(by, "pk", None) else None,
                )
                record(
                    target=target,
                    before=None,
                    after=values[key],
                    kind=ChangeKind.DECOMPOSED,
                    by=by,
                    reason=why,
                )
            elif target.value != values[key] or target.parent_id != parent.pk:
                before = target.value
                target.value, target.parent, target.deadline = values[key], parent, parent.deadline
                target.save(update_fields=["value", "parent", "deadline", "updated_at"])
                if before != values[key]:
                    record(
                        target=target,
                        before=before,
                        after=values[key],
                        kind=ChangeKind.DECOMPOSED,
                        by=by,
                        reason=why,
                    )
            children.append(target)
        parent.rule = chosen_rule
        parent.basis_kpi = str(basis or "") if chosen_rule is Rule.POTENTIAL else ""
        parent.save(update_fields=["rule", "basis_kpi", "updated_at"])
    return children


def _values(
    *,
    parent: Target,
    definition: KpiDefinition,
    rule: Rule,
    grain: Grain,
    keys: list[str],
    locked: dict[str, Decimal],
    unlocked: list[str],
    basis_kpi: str | None,
    manual: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """key → the unlocked child's new value ("" → the basis KPI used)."""
    if rule is Rule.MANUAL:
        given = _manual(manual, keys=keys, definition=definition)
        for key in sorted(set(given) & set(locked)):
            if given[key] != locked[key]:
                raise ServiceError(
                    _("%(key)s is locked at %(value)s: unlock it first.")
                    % {"key": key, "value": f"{locked[key]:f}"},
                    field="manual",
                )
        values: dict[str, Any] = {k: given.get(k, Decimal(0)) for k in unlocked}
        if definition.aggregation is Aggregation.SUM:
            total = sum(values.values(), Decimal(0)) + sum(locked.values(), Decimal(0))
            if total != parent.value:
                raise ServiceError(
                    _(
                        "The children do not add up to the parent: they add up to %(total)s, "
                        "the parent is %(parent)s (difference %(difference)s)."
                    )
                    % {
                        "total": f"{total:f}",
                        "parent": f"{parent.value.normalize():f}",
                        "difference": f"{(parent.value - total).normalize():f}",
                    },
                    field="manual",
                )
        return values
    if definition.aggregation is Aggregation.RATIO:
        # A rate does not split: each child is held to the parent's rate.
        return dict.fromkeys(unlocked, parent.value)
    rest = parent.value - sum(locked.values(), Decimal(0))
    if rest < 0:
        raise ServiceError(
            _("The locked children already add up to more than the parent (by %(over)s).")
            % {"over": f"{(-rest).normalize():f}"},
            field="rule",
        )
    if not unlocked:
        if rest != 0:
            raise ServiceError(
                _("Every child is locked: unlock one to take the remaining %(rest)s.")
                % {"rest": f"{rest.normalize():f}"},
                field="rule",
            )
        return {}
    weights, basis = _weights(
        parent=parent, rule=rule, grain=grain, keys=unlocked, basis_kpi=basis_kpi
    )
    parts = share(rounded(rest, definition), weights, step=step(definition))
    return {"": basis, **dict(zip(unlocked, parts, strict=True))}
