"""Changing one target by hand, and where the difference goes.

For a sum KPI every family keeps adding up: a child's change is absorbed by the parent (and so
by every ancestor up to the top), by the unlocked siblings in proportion to their values, or
by one named sibling; a target with children passes its own change down to its unlocked
children in proportion (and they to theirs). Locked targets are never moved by someone else's
change; a change that would need one, or push a target below zero, is refused. A ratio KPI's
target changes alone (rates do not add up).

`expected_before` is the value the form showed: when the target holds another by now (a double
submit, or someone else's change), the change is refused, never applied twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import ServiceError
from quanwang.performance.choices import Aggregation
from quanwang.performance.kpis.definitions import KpiDefinition
from quanwang.performance.models.targets import Target
from quanwang.performance.targets import kpis
from quanwang.performance.targets.choices import Absorb, ChangeKind
from quanwang.performance.targets.services.common import (
    as_decimal,
    record,
    require_target,
    rounded,
    step,
)
from quanwang.performance.targets.services.sharing import share


def _family(target: Target) -> dict[int, Target]:
    """Every target of `target`'s family (its top and all below it), locked in id order."""
    top = target
    seen = {top.pk}
    while top.parent_id is not None and top.parent_id not in seen:
        seen.add(top.parent_id)
        top = Target.objects.get(pk=top.parent_id)
    ids, frontier = {top.pk}, [top.pk]
    while frontier:
        frontier = list(
            Target.objects.filter(parent_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids.update(frontier)
    return {
        t.pk: t
        for t in Target.objects.select_for_update()
        .select_related("org_unit")
        .filter(pk__in=ids)
        .order_by("pk")
    }


class _Plan:
    """The new values of a family, worked out before anything is saved."""

    def __init__(self, family: dict[int, Target], definition: KpiDefinition) -> None:
        self.family = family
        self.definition = definition
        self.new: dict[int, Decimal] = {}
        self.children: dict[int, list[Target]] = {}
        for t in sorted(family.values(), key=lambda t: t.key):
            if t.parent_id is not None:
                self.children.setdefault(t.parent_id, []).append(t)

    def value(self, target: Target) -> Decimal:
        return self.new.get(target.pk, target.value)

    def move(self, target: Target, difference: Decimal, *, by_hand: bool = False) -> None:
        if target.locked and not by_hand:
            raise ServiceError(
                _("%(target)s is locked: it cannot take the difference.")
                % {"target": _name(target)},
                field="absorb",
            )
        after = self.value(target) + difference
        if after < 0:
            raise ServiceError(
                _("%(target)s would fall below zero (%(after)s): choose another way.")
                % {"target": _name(target), "after": f"{after.normalize():f}"},
                field="absorb",
            )
        self.new[target.pk] = after
        self.down(target, difference)

    def down(self, target: Target, difference: Decimal) -> None:
        """Pass `target`'s change to its unlocked children, in proportion to their values."""
        below = [c for c in self.children.get(target.pk, []) if not c.locked]
        if not self.children.get(target.pk):
            return
        if not below:
            raise ServiceError(
                _("Every target below %(target)s is locked: unlock one to take the change.")
                % {"target": _name(target)},
                field="value",
            )
        parts = share(difference, [self.value(c) for c in below], step=step(self.definition))
        for child, part in zip(below, parts, strict=True):
            if part:
                self.move(child, part)


def _name(target: Target) -> str:
    return f"{target.key}"


def change_target(
    *,
    target: Target,
    value: Any,
    absorb: Absorb | str,
    by: Any,
    reason: str,
    expected_before: Any,
    sibling: str | None = None,
) -> Target:
    """Change `target` to `value`, the difference going where `absorb` says (see the module).
    Refused, naming the field, when it cannot be done; nothing is saved then."""
    target = require_target(by, target_id=target.pk, action=Action.CHANGE)
    definition = kpis.definition(target.kpi)
    number = rounded(as_decimal(value, field="value"), definition)
    if number < 0:
        raise ServiceError(_("A target cannot be below zero."), field="value")
    shown = as_decimal(expected_before, field="expected_before")
    if not (reason or "").strip():
        raise ServiceError(_("Say why the target changes."), field="reason")
    try:
        chosen = Absorb(absorb)
    except ValueError:
        raise ServiceError(_("Choose where the difference goes."), field="absorb") from None
    with transaction.atomic():
        family = _family(target)
        current = family[target.pk]
        if current.value != shown:
            raise ServiceError(
                _(
                    "This target is %(now)s by now, not %(shown)s: it was changed meanwhile "
                    "(or this form was sent twice). Reload and try again."
                )
                % {"now": f"{current.value.normalize():f}", "shown": f"{shown.normalize():f}"},
                field="value",
            )
        difference = number - current.value
        if difference == 0:
            return current
        plan = _Plan(family, definition)
        if definition.aggregation is Aggregation.RATIO:
            plan.new[current.pk] = number
        else:
            plan.move(current, difference, by_hand=True)
            _absorb(plan, current, difference, chosen, sibling)
        for pk, after in sorted(plan.new.items()):
            changed = family[pk]
            before = changed.value
            if before == after:
                continue
            changed.value = after
            changed.save(update_fields=["value", "updated_at"])
            record(
                target=changed,
                before=before,
                after=after,
                kind=ChangeKind.CHANGED if pk == current.pk else ChangeKind.BALANCED,
                by=by,
                reason=reason,
            )
        return family[current.pk]


def _absorb(
    plan: _Plan, current: Target, difference: Decimal, absorb: Absorb, sibling: str | None
) -> None:
    if current.parent_id is None:
        return  # a top target: nothing above to balance
    parent = plan.family[current.parent_id]
    siblings = [s for s in plan.children.get(parent.pk, []) if s.pk != current.pk]
    if absorb is Absorb.PARENT:
        node: Target | None = parent
        while node is not None:
            if node.locked:
                raise ServiceError(
                    _("%(target)s is locked: it cannot take the difference.")
                    % {"target": _name(node)},
                    field="absorb",
                )
            after = plan.value(node) + difference
            if after < 0:
                raise ServiceError(
                    _("%(target)s would fall below zero (%(after)s): choose another way.")
                    % {"target": _name(node), "after": f"{after.normalize():f}"},
                    field="absorb",
                )
            plan.new[node.pk] = after
            node = plan.family.get(node.parent_id) if node.parent_id else None
        return
    if absorb is Absorb.SIBLING:
        named = next((s for s in siblings if s.key == (sibling or "").strip()), None)
        if named is None:
            raise ServiceError(_("Choose the sibling that takes the difference."), field="sibling")
        plan.move(named, -difference)
        return
    free = [s for s in siblings if not s.locked]
    if not free:
        raise ServiceError(
            _("Every sibling is locked: the difference cannot go to them."), field="absorb"
        )
    room = sum((plan.value(s) for s in free), Decimal(0))
    if difference > room:
        raise ServiceError(
            _("The unlocked siblings hold only %(room)s, less than the %(difference)s to take.")
            % {"room": f"{room.normalize():f}", "difference": f"{difference.normalize():f}"},
            field="absorb",
        )
    parts = share(-difference, [plan.value(s) for s in free], step=step(plan.definition))
    for node, part in zip(free, parts, strict=True):
        if part:
            plan.move(node, part)


def set_locked(*, target: Target, locked: bool, by: Any, reason: str = "") -> Target:
    """Lock or unlock a target (a locked one keeps its value through others' changes)."""
    target = require_target(by, target_id=target.pk, action=Action.CHANGE)
    with transaction.atomic():
        current = Target.objects.select_for_update().get(pk=target.pk)
        if current.locked == locked:
            return current
        current.locked = locked
        current.save(update_fields=["locked", "updated_at"])
        record(
            target=current,
            before=current.value,
            after=current.value,
            kind=ChangeKind.LOCKED if locked else ChangeKind.UNLOCKED,
            by=by,
            reason=reason,
        )
        return current
