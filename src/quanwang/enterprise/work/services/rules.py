"""The province's visit plan (ENTERPRISE_RULES): days between two visits per account grade,
versioned. A version is never changed once saved; saving writes the next one, and the newest is
in force. Reading needs an ENTERPRISE_RULES grant anywhere; saving needs ADD at the root of the
org tree (the province)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import units_granting
from quanwang.enterprise.choices import AccountGrade
from quanwang.enterprise.models import VisitIntervalRuleSet
from quanwang.enterprise.models.work import MAX_INTERVAL_DAYS

#: The plan the province starts with: A fortnightly, B monthly, C quarterly.
DEFAULT_DAYS = {"A": 14, "B": 30, "C": 90, "": 90}


@dataclass(frozen=True)
class Intervals:
    version: int
    by_grade: dict[str, int]

    def days(self, grade: str) -> int:
        return self.by_grade.get(grade if grade in AccountGrade.values else "", self.by_grade[""])


def _of(rule_set: VisitIntervalRuleSet) -> Intervals:
    return Intervals(
        version=rule_set.version,
        by_grade={
            AccountGrade.A: rule_set.interval_a,
            AccountGrade.B: rule_set.interval_b,
            AccountGrade.C: rule_set.interval_c,
            "": rule_set.interval_ungraded,
        },
    )


def current_rule_set() -> VisitIntervalRuleSet:
    """The rule set in force: the newest version; the defaults saved as version 1 if none."""
    found = VisitIntervalRuleSet.objects.order_by("-version").first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return VisitIntervalRuleSet.objects.create(
                version=1,
                interval_a=DEFAULT_DAYS["A"],
                interval_b=DEFAULT_DAYS["B"],
                interval_c=DEFAULT_DAYS["C"],
                interval_ungraded=DEFAULT_DAYS[""],
            )
    except IntegrityError:  # saved at the same moment by another process
        return VisitIntervalRuleSet.objects.get(version=1)


def current_intervals() -> Intervals:
    return _of(current_rule_set())


def may_read_rules(user: Any) -> bool:
    return has_grant(user, resource=Resource.ENTERPRISE_RULES, action=Action.VIEW)


def may_set_rules(user: Any) -> bool:
    """Whether `user` holds ADD on ENTERPRISE_RULES at the root (the province)."""
    if user is None:
        return True  # the system: the CLI and the demo
    units = units_granting(user=user, resource=Resource.ENTERPRISE_RULES, action=Action.ADD)
    return units.filter(parent__isnull=True).exists()


def save_rule_set(
    *, actor: Any, days: dict[str, int], note: str = "", based_on: int | None = None
) -> VisitIntervalRuleSet:
    """Save the next version with `days` per grade ('A', 'B', 'C', '' for not graded).
    `based_on`: the version the form showed; if another was saved since, refuse rather than
    overwrite it silently."""
    if not may_set_rules(actor):
        raise ServiceError(_("Only the province may change the visit plan."))
    for key, field in (
        ("A", "interval_a"),
        ("B", "interval_b"),
        ("C", "interval_c"),
        ("", "interval_ungraded"),
    ):
        value = days.get(key)
        if value is None or not 1 <= value <= MAX_INTERVAL_DAYS:
            raise ServiceError(
                _("Days between visits must be a whole number from 1 to %(max)s.")
                % {"max": MAX_INTERVAL_DAYS},
                field=field,
            )
    if days["A"] > days["B"] or days["B"] > days["C"]:
        # A better account is visited at least as often as a lesser one.
        raise ServiceError(
            _("Grade A accounts must be visited at least as often as B, and B as C."),
            field="interval_a",
        )
    current_rule_set()  # the defaults are version 1: a form shown before any save is based on it
    try:
        with transaction.atomic():
            # Two saves at once: the unique version refuses the second (below).
            newest = VisitIntervalRuleSet.objects.aggregate(v=Max("version"))["v"]
            if based_on is not None and newest is not None and newest != based_on:
                raise ServiceError(
                    _("The visit plan was changed meanwhile (now version %(v)s): reload it.")
                    % {"v": newest}
                )
            return VisitIntervalRuleSet.objects.create(
                version=(newest or 0) + 1,
                interval_a=days["A"],
                interval_b=days["B"],
                interval_c=days["C"],
                interval_ungraded=days[""],
                note=note.strip()[:200],
                created_by=actor,
            )
    except IntegrityError as race:
        raise ServiceError(_("The visit plan was changed meanwhile: reload it.")) from race


def visible_rule_sets(user: Any) -> Any:
    if not may_read_rules(user):
        return VisitIntervalRuleSet.objects.none()
    return VisitIntervalRuleSet.objects.select_related("created_by").order_by("-version")
