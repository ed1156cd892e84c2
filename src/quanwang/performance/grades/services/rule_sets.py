"""The rules' versions: which one holds on a day, who may save one, saving one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments, has_grant
from quanwang.performance.grades.rules import RuleProblem, Rules, check
from quanwang.performance.models import GradeRuleSet


def root_unit() -> OrgUnit | None:
    return OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()


def rule_set_on(day: dt.date) -> GradeRuleSet | None:
    """The version in force on `day`: the newest valid from that day or before."""
    return GradeRuleSet.objects.filter(valid_from__lte=day).order_by("-valid_from").first()


def rules_on(day: dt.date) -> Rules:
    """The rules in force on `day` (the built-in defaults before the first version)."""
    return Rules.of(rule_set_on(day))


def may_read_rules(user: Any) -> bool:
    """The rules move everyone graded, so everyone with any grade grant reads them."""
    return has_grant(user, resource=Resource.STAFF_GRADE, action=Action.VIEW)


def may_set_rules(user: Any) -> bool:
    """The province keeps the rules: STAFF_GRADE CHANGE held at the root of the org tree."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    root = root_unit()
    if root is None:
        return False
    return any(
        reach(role=a.role, resource=Resource.STAFF_GRADE, action=Action.CHANGE) is Reach.SUBTREE
        and root.path.startswith(a.org_unit.path)
        for a in active_assignments(user)
    )


def save_rule_set(*, by: Any, rules: Rules, valid_from: dt.date, note: str = "") -> GradeRuleSet:
    """Save `rules` as a new version valid from `valid_from`. Refused (naming the setting) when
    the rules cannot work, or when the day is not after the newest version's: versions are
    never edited, so the past keeps the rules it was graded by."""
    if not may_set_rules(by):
        raise NotFound()
    try:
        check(rules)
    except RuleProblem as exc:
        raise ServiceError(exc.message, field=exc.field) from exc
    root = root_unit()
    if root is None:
        raise ServiceError(_("Load the org tree first."))
    with transaction.atomic():
        # The root's row serialises two saves at once: one gets the next version, the other
        # is refused by the day check.
        OrgUnit.objects.select_for_update().filter(pk=root.pk).first()
        newest = GradeRuleSet.objects.order_by("-version").first()
        if newest is not None and valid_from <= newest.valid_from:
            raise ServiceError(
                _("Version %(v)d is valid from %(day)s: a new version starts after it.")
                % {"v": newest.version, "day": newest.valid_from.isoformat()},
                field="valid_from",
            )
        return GradeRuleSet.objects.create(
            version=(newest.version + 1) if newest else 1,
            valid_from=valid_from,
            org_unit=root,
            period_kind=rules.period_kind,
            promote_at=rules.promote_at,
            promote_periods=rules.promote_periods,
            promote_steps=rules.promote_steps,
            demote_below=rules.demote_below,
            demote_periods=rules.demote_periods,
            demote_steps=rules.demote_steps,
            lowest_level=rules.lowest.level,
            lowest_step=rules.lowest.step,
            highest_level=rules.highest.level,
            highest_step=rules.highest.step,
            coefficients={k: str(v) for k, v in rules.coefficients.items()},
            note=note[:300],
            created_by=by if getattr(by, "pk", None) else None,
        )
