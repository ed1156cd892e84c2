"""The province's rules for stores: the versioned grading rule sets and the coverage targets.

Both are province-wide. Reading them needs a CHANNEL_RULES grant anywhere (the rules apply to
every unit); saving a rule set needs ADD and changing the coverage targets CHANGE, each held at
the root of the org tree (the province).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from quanwang.channels.choices import GradingCriterion, GridType, SalesMeasure
from quanwang.channels.models import CoverageTarget, GradingRuleSet
from quanwang.channels.stores.grading import (
    DEFAULT_LOCATION_OTHER,
    DEFAULT_LOCATION_POINTS,
    DEFAULT_RULES,
    Rules,
)
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import units_granting

POINTS_MAX = 100
GROWTH_MONTHS_MAX = 12
COVERAGE_MAX = 999

# The coverage targets the province starts with (each 沿街 grid: ≥ 1 key, ≥ 2 anchor, ≥ 5 small).
DEFAULT_COVERAGE: Mapping[str, tuple[int, int, int]] = {
    GridType.STREET: (1, 2, 5),
    GridType.PARK: (1, 1, 2),
    GridType.CAMPUS: (0, 1, 2),
    GridType.INDUSTRY: (0, 1, 1),
    GridType.RURAL: (0, 1, 3),
}


def may_read_rules(user: Any) -> bool:
    return has_grant(user, resource=Resource.CHANNEL_RULES, action=Action.VIEW)


def may_set_rules(user: Any, action: Action) -> bool:
    """Whether `user` holds `action` on CHANNEL_RULES at the root (the province)."""
    if user is None:
        return True  # the system: the CLI and the demo
    units = units_granting(user=user, resource=Resource.CHANNEL_RULES, action=action)
    return units.filter(parent__isnull=True).exists()


def visible_rule_sets(user: Any) -> Any:
    if not may_read_rules(user):
        return GradingRuleSet.objects.none()
    return GradingRuleSet.objects.all()


def current_rule_set() -> GradingRuleSet:
    """The rule set in force: the newest version; the defaults saved as version 1 if none."""
    found = GradingRuleSet.objects.order_by("-version").first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return _create(rules=DEFAULT_RULES, version=1, actor=None, note="")
    except IntegrityError:  # saved at the same moment by another process
        return GradingRuleSet.objects.get(version=1)


@dataclass(frozen=True)
class RuleProblem:
    field: str
    message: str


def problems(rules: Rules) -> list[RuleProblem]:
    """What is wrong with `rules`, each naming its field, in the user's language."""
    found: list[RuleProblem] = []
    for criterion, weight in rules.weights.items():
        if weight < 0 or weight > POINTS_MAX:
            found.append(
                RuleProblem(
                    f"weight_{criterion}",
                    _("The weight of %(criterion)s must lie between 0 and 100.")
                    % {"criterion": GradingCriterion(criterion).label},
                )
            )
    total = sum(rules.weights.values())
    if total != POINTS_MAX:
        found.append(
            RuleProblem(
                "weight_sales",
                _("The weights add up to %(total)d%%; they must add up to 100%%.")
                % {"total": total},
            )
        )
    for name, value in (("key_min", rules.key_min), ("anchor_min", rules.anchor_min)):
        if not 0 <= value <= POINTS_MAX:
            found.append(RuleProblem(name, _("A cut-off must lie between 0 and 100 points.")))
    if rules.anchor_min >= rules.key_min:
        found.append(
            RuleProblem(
                "anchor_min",
                _(
                    "The anchor store cut-off (%(anchor)d) must lie below the key store "
                    "cut-off (%(key)d)."
                )
                % {"anchor": rules.anchor_min, "key": rules.key_min},
            )
        )
    for grid_type, points in rules.location_points.items():
        if grid_type not in GridType.values:
            found.append(
                RuleProblem(
                    "location_points",
                    _("%(type)s is not a grid type; use one of %(types)s.")
                    % {"type": grid_type, "types": "、".join(GridType.values)},
                )
            )
        elif not 0 <= points <= POINTS_MAX:
            found.append(
                RuleProblem(
                    "location_points",
                    _("The location points of %(type)s must lie between 0 and 100.")
                    % {"type": grid_type},
                )
            )
    if not 0 <= rules.location_default <= POINTS_MAX:
        found.append(
            RuleProblem("location_default", _("The location points must lie between 0 and 100."))
        )
    if not 1 <= rules.growth_months <= GROWTH_MONTHS_MAX:
        found.append(
            RuleProblem(
                "growth_months",
                _("Growth compares with 1 to %(max)d months before.") % {"max": GROWTH_MONTHS_MAX},
            )
        )
    return found


def _create(*, rules: Rules, version: int, actor: Any, note: str) -> GradingRuleSet:
    w = rules.weights
    return GradingRuleSet.objects.create(
        version=version,
        sales_measure=rules.sales_measure,
        weight_sales=w[GradingCriterion.SALES],
        weight_footfall=w[GradingCriterion.FOOTFALL],
        weight_conversion=w[GradingCriterion.CONVERSION],
        weight_location=w[GradingCriterion.LOCATION],
        weight_growth=w[GradingCriterion.GROWTH],
        key_min=rules.key_min,
        anchor_min=rules.anchor_min,
        location_points=dict(rules.location_points),
        location_default=rules.location_default,
        growth_months=rules.growth_months,
        note=note,
        created_by=actor,
    )


def save_rule_set(*, actor: Any, rules: Rules, note: str = "") -> GradingRuleSet:
    """Save `rules` as the next version, in force from the next grading. Refused with the
    first problem (ServiceError naming the field) when they do not hold together."""
    if not may_set_rules(actor, Action.ADD):
        raise NotFound()
    found = problems(rules)
    if found:
        raise ServiceError(found[0].message, field=found[0].field)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                newest = GradingRuleSet.objects.aggregate(top=Max("version"))["top"] or 0
                return _create(rules=rules, version=newest + 1, actor=actor, note=note.strip())
        except IntegrityError:  # another save took the number: take the next one
            continue
    raise ServiceError(_("The rule set could not be saved; try again."))


def rules_from_form(data: Mapping[str, Any]) -> Rules:
    """Rules from the rule set form's (or the API's) cleaned values."""
    return Rules(
        weights={c: int(data[f"weight_{c}"]) for c in GradingCriterion},
        key_min=int(data["key_min"]),
        anchor_min=int(data["anchor_min"]),
        sales_measure=SalesMeasure(data.get("sales_measure") or SalesMeasure.REVENUE),
        location_points={
            t: int(data.get(f"location_{i}", DEFAULT_LOCATION_POINTS.get(t, 0)))
            for i, t in enumerate(GridType.values)
        },
        location_default=int(data.get("location_default", DEFAULT_LOCATION_OTHER)),
        growth_months=int(data["growth_months"]),
    )


# --- Coverage targets -------------------------------------------------------------------


def coverage_targets() -> dict[str, CoverageTarget]:
    """Each grid type's target; the defaults saved the first time they are read."""
    found = {t.grid_type: t for t in CoverageTarget.objects.all()}
    missing = [t for t in GridType.values if t not in found]
    if missing:
        for grid_type in missing:
            key, anchor, small = DEFAULT_COVERAGE.get(grid_type, (0, 0, 0))
            target, _created = CoverageTarget.objects.get_or_create(
                grid_type=grid_type,
                defaults={"key_min": key, "anchor_min": anchor, "small_min": small},
            )
            found[grid_type] = target
    return found


def set_coverage_target(
    *, actor: Any, grid_type: str, key_min: int, anchor_min: int, small_min: int
) -> CoverageTarget:
    if not may_set_rules(actor, Action.CHANGE):
        raise NotFound()
    if grid_type not in GridType.values:
        raise ServiceError(
            _("%(type)s is not a grid type; use one of %(types)s.")
            % {"type": grid_type, "types": "、".join(GridType.values)},
            field="grid_type",
        )
    for name, value in (("key_min", key_min), ("anchor_min", anchor_min), ("small_min", small_min)):
        if not 0 <= value <= COVERAGE_MAX:
            raise ServiceError(
                _("A target must lie between 0 and %(max)d stores.") % {"max": COVERAGE_MAX},
                field=name,
            )
    with transaction.atomic():
        target, _created = CoverageTarget.objects.select_for_update().get_or_create(
            grid_type=grid_type
        )
        target.key_min, target.anchor_min, target.small_min = key_min, anchor_min, small_min
        target.updated_by = actor if getattr(actor, "pk", None) else None
        target.save()
    return target
