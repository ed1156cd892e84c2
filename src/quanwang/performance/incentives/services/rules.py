"""Incentive rule versions and their validity.

The versions of a role kind cover time in one unbroken chain: each starts the day after the
one before ends, and only the newest may be open-ended. A new version (or a changed end) that
would leave two versions in force on one day, or a day with none between two versions, is
refused with the versions and days named. A month is paid under the version in force on the
month's last day.

Only the province keeps the rules (INCENTIVE CHANGE at the top of the tree). A version that an
approved statement was paid under keeps its dates over that statement's month.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import has_grant, scope_filter
from quanwang.performance.choices import Aggregation
from quanwang.performance.incentives.choices import RoleKind, StatementStatus
from quanwang.performance.incentives.services.schema import RuleBody, parse_rules
from quanwang.performance.kpis import catalogue as kpis_catalogue
from quanwang.performance.models import IncentiveRuleSet, IncentiveStatement
from quanwang.performance.periods import parse as parse_period


def _known_kpis() -> dict[str, bool]:
    """The catalogue's KPI codes → whether each is a sum."""
    return {
        code: definition.aggregation == Aggregation.SUM
        for code, definition in kpis_catalogue.catalogue().items()
    }


def _keeper_unit(actor: Any) -> OrgUnit:
    """The top unit: rules are the province's, whoever keeps them."""
    if not has_grant(actor, resource=Resource.INCENTIVE, action=Action.CHANGE):
        raise NotFound()
    root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    if root is None:
        raise ServiceError(_("Load the org tree first."))
    q = scope_filter(
        actor,
        resource=Resource.INCENTIVE,
        action=Action.CHANGE,
        org_path_field="path",
        owner_field=None,
    )
    if q is not None and not OrgUnit.objects.filter(q, pk=root.pk).exists():
        raise NotFound()  # a keeper below the province: the rules are not theirs to change
    return root


def _label(version: IncentiveRuleSet | None, *, number: int | None = None) -> str:
    return _("version %(n)d") % {"n": version.version if version else number}


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else _("open-ended")


def check_chain(versions: list[tuple[int, dt.date, dt.date | None]]) -> None:
    """Refuse an overlap or a gap among (version, valid_from, valid_until) of one role kind,
    naming the versions and the days."""
    ordered = sorted(versions, key=lambda v: (v[1], v[0]))
    for (n1, from1, until1), (n2, from2, until2) in itertools.pairwise(ordered):
        if until1 is None or until1 >= from2:
            raise ServiceError(
                _(
                    "Version %(a)d (%(a_from)s to %(a_until)s) and version %(b)d (%(b_from)s to "
                    "%(b_until)s) are both in force from %(day)s: end one before the other "
                    "starts."
                )
                % {
                    "a": n1, "a_from": from1.isoformat(), "a_until": _day(until1),
                    "b": n2, "b_from": from2.isoformat(), "b_until": _day(until2),
                    "day": from2.isoformat(),
                },
                field="valid_from",
            )  # fmt: skip
        if until1 + dt.timedelta(days=1) < from2:
            raise ServiceError(
                _(
                    "No version is in force from %(start)s to %(end)s, between version %(a)d "
                    "(until %(a_until)s) and version %(b)d (from %(b_from)s)."
                )
                % {
                    "start": (until1 + dt.timedelta(days=1)).isoformat(),
                    "end": (from2 - dt.timedelta(days=1)).isoformat(),
                    "a": n1, "a_until": until1.isoformat(), "b": n2, "b_from": from2.isoformat(),
                },
                field="valid_from",
            )  # fmt: skip


def _check_paid_months(rule_set: IncentiveRuleSet, *, valid_until: dt.date | None) -> None:
    """A version keeps covering the months approved statements were paid under it."""
    if valid_until is None:
        return
    paid = (
        IncentiveStatement.objects.filter(
            rule_set=rule_set, status=StatementStatus.APPROVED, month__gt=f"{valid_until:%Y-%m}"
        )
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    if paid is None:
        # The month holding the new end is still covered when it ends on that month's last day.
        month = f"{valid_until:%Y-%m}"
        if (
            parse_period(month).end != valid_until
            and IncentiveStatement.objects.filter(
                rule_set=rule_set, status=StatementStatus.APPROVED, month=month
            ).exists()
        ):
            paid = month
    if paid is not None:
        raise ServiceError(
            _("Statements of %(month)s were approved under version %(n)d: it must stay in force "
              "until that month's end.") % {"month": paid, "n": rule_set.version},
            field="valid_until",
        )  # fmt: skip


@transaction.atomic
def add_version(
    *,
    actor: Any,
    role_kind: RoleKind | str,
    valid_from: dt.date,
    valid_until: dt.date | None,
    rules: Any,
    note: str = "",
) -> IncentiveRuleSet:
    """A new version of `role_kind`'s rules; refused (naming the field) when the rules do not
    check or the validity would overlap or leave a gap."""
    keeper = _keeper_unit(actor)
    kind = RoleKind(role_kind)
    if valid_until is not None and valid_until < valid_from:
        raise ServiceError(_("The version ends before it starts."), field="valid_until")
    body = parse_rules(rules, known_kpis=_known_kpis())
    # Lock the kind's versions (in a fixed order) so two saves cannot both pass the check.
    existing = list(
        IncentiveRuleSet.objects.select_for_update()
        .filter(role_kind=kind)
        .order_by("pk")
        .values_list("version", "valid_from", "valid_until")
    )
    number = (
        IncentiveRuleSet.objects.filter(role_kind=kind).aggregate(n=Max("version"))["n"] or 0
    ) + 1
    check_chain([*existing, (number, valid_from, valid_until)])
    return IncentiveRuleSet.objects.create(
        role_kind=kind,
        version=number,
        valid_from=valid_from,
        valid_until=valid_until,
        rules=body.model_dump(mode="json"),
        note=note,
        org_unit=keeper,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


@transaction.atomic
def end_version(*, actor: Any, pk: int, valid_until: dt.date | None) -> IncentiveRuleSet:
    """Change when a version ends (to make room for the next, or to reopen the newest)."""
    _keeper_unit(actor)
    found = IncentiveRuleSet.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound()
    versions = list(
        IncentiveRuleSet.objects.select_for_update()
        .filter(role_kind=found.role_kind)
        .order_by("pk")
    )
    rule_set = next(v for v in versions if v.pk == pk)
    if valid_until is not None and valid_until < rule_set.valid_from:
        raise ServiceError(_("The version ends before it starts."), field="valid_until")
    _check_paid_months(rule_set, valid_until=valid_until)
    check_chain(
        [(v.version, v.valid_from, valid_until if v.pk == pk else v.valid_until) for v in versions]
    )
    rule_set.valid_until = valid_until
    rule_set.save(update_fields=["valid_until"])
    return rule_set


def in_force(*, role_kind: RoleKind | str, day: dt.date) -> IncentiveRuleSet | None:
    """The version of `role_kind` in force on `day` (None: none is)."""
    for found in IncentiveRuleSet.objects.filter(
        role_kind=RoleKind(role_kind), valid_from__lte=day
    ).order_by("-valid_from"):
        if found.valid_until is None or found.valid_until >= day:
            return found
        return None
    return None


def for_month(*, role_kind: RoleKind | str, month: str) -> IncentiveRuleSet | None:
    """The version a month is paid under: the one in force on the month's last day."""
    return in_force(role_kind=role_kind, day=parse_period(month).end)


def body_of(rule_set: IncentiveRuleSet) -> RuleBody:
    return RuleBody.model_validate(rule_set.rules)


def readable(actor: Any) -> bool:
    """Whether `actor` may read the rules: everyone who reads incentives, their own included
    (a staff member checks how their statement was computed)."""
    return has_grant(actor, resource=Resource.INCENTIVE, action=Action.VIEW)
