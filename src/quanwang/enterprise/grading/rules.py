"""The provinces' account-grading rules: versioned rule sets, checked before they are saved.

A rule set belongs to a province (a root of the org tree); an account is graded under the
newest version of its province. Reading needs an ENTERPRISE_RULES grant anywhere; saving
needs ADD on it at the root (the province), as channels' store rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import units_granting
from quanwang.enterprise.choices import AccountGrade, ServiceLevel
from quanwang.enterprise.grading.choices import QUANTITATIVE, Criterion, ServiceAction
from quanwang.enterprise.grading.grades import DEFAULT_RULES, Rules
from quanwang.enterprise.models import GradingRuleSet

POINTS_MAX = 100


def may_read_rules(user: Any) -> bool:
    return has_grant(user, resource=Resource.ENTERPRISE_RULES, action=Action.VIEW)


def may_set_rules(user: Any, action: Action = Action.ADD) -> bool:
    """Whether `user` holds `action` on ENTERPRISE_RULES at a root (a province)."""
    if user is None:
        return True  # the system: the CLI, the nightly step and the demo
    units = units_granting(user=user, resource=Resource.ENTERPRISE_RULES, action=action)
    return units.filter(parent__isnull=True).exists()


def provinces() -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(parent__isnull=True).order_by("path")


def province_of(path: str) -> str:
    """The province code of an org unit's materialised path ("/GD/GZ/…" → "GD")."""
    parts = [p for p in path.split("/") if p]
    return parts[0] if parts else ""


def visible_rule_sets(user: Any) -> QuerySet[GradingRuleSet]:
    if not may_read_rules(user):
        return GradingRuleSet.objects.none()
    return GradingRuleSet.objects.select_related("province", "created_by").all()


def _create(*, province: OrgUnit, rules: Rules, version: int, actor: Any, note: str) -> Any:
    return GradingRuleSet.objects.create(
        province=province,
        version=version,
        weights={str(k): int(v) for k, v in rules.weights.items()},
        scales={str(k): [float(v[0]), float(v[1])] for k, v in rules.scales.items()},
        a_min=rules.a_min,
        b_min=rules.b_min,
        qualitative_default=rules.qualitative_default,
        service_by_grade=dict(rules.service_by_grade),
        actions_by_level={k: list(v) for k, v in rules.actions_by_level.items()},
        note=note,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def current_rule_set(province: OrgUnit) -> GradingRuleSet:
    """The province's rules in force: its newest version; the defaults saved as version 1 if
    it has none."""
    found = GradingRuleSet.objects.filter(province=province).order_by("-version").first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            created: GradingRuleSet = _create(
                province=province, rules=DEFAULT_RULES, version=1, actor=None, note=""
            )
            return created
    except IntegrityError:  # saved at the same moment by another process
        return GradingRuleSet.objects.get(province=province, version=1)


@dataclass(frozen=True)
class RuleProblem:
    field: str
    message: str


def problems(rules: Rules) -> list[RuleProblem]:
    """What is wrong with `rules`, each naming its field, in the user's language."""
    found: list[RuleProblem] = []
    unknown = sorted(set(rules.weights) - set(Criterion.values))
    missing = [c for c in Criterion if str(c) not in rules.weights]
    for name in unknown:
        found.append(RuleProblem("weights", _("%(name)s is not a criterion.") % {"name": name}))
    for criterion in missing:
        found.append(
            RuleProblem(
                f"weight_{criterion}",
                _("The weight of %(criterion)s is missing.") % {"criterion": criterion.label},
            )
        )
    for key, weight in rules.weights.items():
        if key in Criterion.values and not 0 <= weight <= POINTS_MAX:
            found.append(
                RuleProblem(
                    f"weight_{key}",
                    _("The weight of %(criterion)s must lie between 0 and 100.")
                    % {"criterion": Criterion(key).label},
                )
            )
    total = sum(rules.weights.values())
    if total != POINTS_MAX:
        listed = "、".join(
            f"{Criterion(k).label} {w}%" for k, w in rules.weights.items() if k in Criterion.values
        )
        found.append(
            RuleProblem(
                "weights",
                _("The weights (%(weights)s) add up to %(total)d%%; they must add up to 100%%.")
                % {"weights": listed, "total": total},
            )
        )
    for name, value in (("a_min", rules.a_min), ("b_min", rules.b_min)):
        if not 0 <= value <= POINTS_MAX:
            found.append(RuleProblem(name, _("A threshold must lie between 0 and 100 points.")))
    if rules.b_min >= rules.a_min:
        found.append(
            RuleProblem(
                "b_min",
                _("The grade B threshold (%(b)d) must lie below the grade A threshold (%(a)d).")
                % {"a": rules.a_min, "b": rules.b_min},
            )
        )
    if not 0 <= rules.qualitative_default <= POINTS_MAX:
        found.append(
            RuleProblem(
                "qualitative_default", _("The points of an unscored criterion lie in 0–100.")
            )
        )
    for criterion in QUANTITATIVE:
        scale = rules.scales.get(str(criterion))
        if scale is None or scale[0] == scale[1]:
            found.append(
                RuleProblem(
                    f"scale_{criterion}",
                    _("The scale of %(criterion)s needs two different figures.")
                    % {"criterion": criterion.label},
                )
            )
    for grade, level in rules.service_by_grade.items():
        if grade not in AccountGrade.values or level not in ServiceLevel.values:
            found.append(
                RuleProblem("service_by_grade", _("Each grade needs one of the service levels."))
            )
    for level, actions in rules.actions_by_level.items():
        if level not in ServiceLevel.values or any(a not in ServiceAction.values for a in actions):
            found.append(
                RuleProblem("actions_by_level", _("An action of a service level is not known."))
            )
    return found


def save_rule_set(*, actor: Any, province: OrgUnit, rules: Rules, note: str = "") -> GradingRuleSet:
    """Save `rules` as the province's next version, in force from the next grading. Refused
    with the first problem (ServiceError naming the field) when they do not hold together."""
    if not may_set_rules(actor, Action.ADD) or province.parent_id is not None:
        raise NotFound()
    found = problems(rules)
    if found:
        raise ServiceError(found[0].message, field=found[0].field)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                newest = (
                    GradingRuleSet.objects.filter(province=province).aggregate(top=Max("version"))[
                        "top"
                    ]
                    or 0
                )
                saved: GradingRuleSet = _create(
                    province=province,
                    rules=rules,
                    version=newest + 1,
                    actor=actor,
                    note=note.strip(),
                )
                return saved
        except IntegrityError:  # another save took the number: take the next one
            continue
    raise ServiceError(_("The rule set could not be saved; try again."))


def rules_from_form(data: Mapping[str, Any], *, base: Rules) -> Rules:
    """Rules from the rule form's cleaned values; what the form does not hold comes from
    `base` (the version in force)."""
    return Rules(
        weights={str(c): int(data[f"weight_{c}"]) for c in Criterion},
        a_min=int(data["a_min"]),
        b_min=int(data["b_min"]),
        scales={str(c): (float(data[f"zero_{c}"]), float(data[f"full_{c}"])) for c in QUANTITATIVE},
        qualitative_default=int(data["qualitative_default"]),
        service_by_grade={str(g): str(data[f"service_{g}"]) for g in AccountGrade},
        actions_by_level=dict(base.actions_by_level),
    )
