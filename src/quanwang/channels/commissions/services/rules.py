"""Commission rule sets (酬金规则): drafts, their rules, the checks, publishing, new versions.

A draft is edited freely. Publishing checks it and refuses it, naming each problem in the
user's language, when two of its rules could pay the same sale (an overlap), when a product
has days with no rule (a gap, within the set or against the sales in the warehouse), when it
would overlap another set, or when it would change months whose statements are approved.
Published, a set never changes again; version N+1 of the same name supersedes it from its own
first day. Rule sets apply to every store of the operator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.services.offers import unit_and_ancestor_paths
from quanwang.channels.commissions.choices import RuleSetStatus, StatementStatus
from quanwang.channels.commissions.services import coverage
from quanwang.channels.commissions.services.coverage import Gap, Overlap, RuleWindow
from quanwang.channels.commissions.services.facts import unruled_sales
from quanwang.channels.models import (
    CommissionRule,
    CommissionRuleSet,
    CommissionStatement,
    CommissionTier,
)
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments, scope_filter
from quanwang.core.services.orgs import home_unit
from quanwang.insight.months import Month

ONE = Decimal(1)
#: At most this many problems are listed (the first ones, in the order of the checks).
MAX_PROBLEMS = 30


class RuleSetRefused(ServiceError):
    """The set cannot be published; `problems` names each overlap or gap."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            _("The rule set was not published: %(n)d problem(s). %(first)s")
            % {"n": len(problems), "first": problems[0]}
        )
        self.problems = problems


@dataclass(frozen=True)
class TierTerms:
    min_volume: int
    fixed_amount: Decimal
    revenue_share: Decimal = Decimal(0)


@dataclass(frozen=True)
class RuleTerms:
    product: str
    plan_id: str = ""
    store_type: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    fixed_amount: Decimal = Decimal(0)
    upfront_share: Decimal = ONE
    deferred_months: int = 0
    revenue_share: Decimal = Decimal(0)
    revenue_months: int = 0
    clawback_months: int = 0
    note: str = ""
    tiers: tuple[TierTerms, ...] = field(default_factory=tuple)


# --- Reading -----------------------------------------------------------------------------


def visible_rule_sets(*, user: Any) -> QuerySet[CommissionRuleSet]:
    """The sets `user` may read: those of the units their grant reaches and of the units above
    (the province's rules apply to every store below it)."""
    sets = CommissionRuleSet.objects.select_related("org_unit")
    q = scope_filter(
        user,
        resource=Resource.CHANNEL_RULES,
        action=Action.VIEW,
        org_path_field=CommissionRuleSet.scope_org_path,
        owner_field=None,
    )
    if q is None:
        return sets
    above = {
        path
        for assignment in active_assignments(user)
        if reach(role=assignment.role, resource=Resource.CHANNEL_RULES, action=Action.VIEW)
        for path in unit_and_ancestor_paths(assignment.org_unit.path)
    }
    return sets.filter(q | Q(org_unit__path__in=above))


def _changeable(*, actor: Any, pk: int) -> CommissionRuleSet:
    found = (
        CommissionRuleSet.objects.restrict(actor, Action.CHANGE)
        .select_for_update()
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound()
    return found


def _draft(*, actor: Any, pk: int) -> CommissionRuleSet:
    rule_set = _changeable(actor=actor, pk=pk)
    if rule_set.status != RuleSetStatus.DRAFT:
        raise ServiceError(
            _("A published rule set is never changed: make a new version of it instead."),
            field="status",
        )
    return rule_set


# --- Drafts ------------------------------------------------------------------------------


def _check_range(valid_from: dt.date, valid_until: dt.date | None) -> None:
    if valid_until is not None and valid_until < valid_from:
        raise ServiceError(_("The last valid day comes before the first."), field="valid_until")


def create_rule_set(
    *,
    actor: Any,
    name: str,
    valid_from: dt.date,
    valid_until: dt.date | None = None,
    note: str = "",
) -> CommissionRuleSet:
    """A draft: version 1 of a new name, or the next version of an existing one."""
    unit = home_unit(user=actor, resource=Resource.CHANNEL_RULES, action=Action.ADD)
    if unit is None:
        raise NotFound()
    name = name.strip()
    if not name:
        raise ServiceError(_("Give the rule set a name."), field="name")
    _check_range(valid_from, valid_until)
    with transaction.atomic():
        latest = CommissionRuleSet.objects.filter(name=name).aggregate(v=Max("version"))["v"]
        return CommissionRuleSet.objects.create(
            name=name,
            version=(latest or 0) + 1,
            valid_from=valid_from,
            valid_until=valid_until,
            note=note,
            org_unit=unit,
            created_by=actor if getattr(actor, "pk", None) else None,
        )


def change_draft(
    *,
    actor: Any,
    rule_set_id: int,
    valid_from: dt.date,
    valid_until: dt.date | None,
    note: str = "",
) -> CommissionRuleSet:
    """A draft's days and note; its rules must still lie within the new days."""
    _check_range(valid_from, valid_until)
    with transaction.atomic():
        rule_set = _draft(actor=actor, pk=rule_set_id)
        outside = rule_set.rules.filter(valid_from__lt=valid_from)
        if valid_until is not None:
            outside = outside | rule_set.rules.filter(valid_until__gt=valid_until)
        if outside.exists():
            raise ServiceError(
                _("Rule #%(rule)d has days outside these; change or remove it first.")
                % {"rule": outside.first().pk},  # type: ignore[union-attr]
                field="valid_from",
            )
        rule_set.valid_from = valid_from
        rule_set.valid_until = valid_until
        rule_set.note = note
        rule_set.save(update_fields=["valid_from", "valid_until", "note"])
    return rule_set


def _validate_terms(terms: RuleTerms, rule_set: CommissionRuleSet) -> None:
    if not terms.product.strip():
        raise ServiceError(_("Name the product the rule pays for."), field="product")
    if terms.fixed_amount < 0:
        raise ServiceError(_("The fixed amount cannot be negative."), field="fixed_amount")
    if not Decimal(0) <= terms.upfront_share <= ONE:
        raise ServiceError(
            _("The share paid on activation lies between 0 and 1."), field="upfront_share"
        )
    if terms.upfront_share < ONE and terms.deferred_months < 1:
        raise ServiceError(
            _("A part paid later needs the number of months after which it is paid."),
            field="deferred_months",
        )
    if not Decimal(0) <= terms.revenue_share <= ONE:
        raise ServiceError(_("The share of revenue lies between 0 and 1."), field="revenue_share")
    if terms.revenue_share > 0 and terms.revenue_months < 1:
        raise ServiceError(
            _("A share of revenue needs the number of months it is paid for."),
            field="revenue_months",
        )
    start = terms.valid_from or rule_set.valid_from
    end = terms.valid_until or rule_set.valid_until
    if terms.valid_from is not None and terms.valid_from < rule_set.valid_from:
        raise ServiceError(
            _("The rule starts before its rule set (%(day)s).") % {"day": rule_set.valid_from},
            field="valid_from",
        )
    if (
        terms.valid_until is not None
        and rule_set.valid_until is not None
        and terms.valid_until > rule_set.valid_until
    ):
        raise ServiceError(
            _("The rule ends after its rule set (%(day)s).") % {"day": rule_set.valid_until},
            field="valid_until",
        )
    if end is not None and end < start:
        raise ServiceError(_("The last valid day comes before the first."), field="valid_until")
    volumes = [t.min_volume for t in terms.tiers]
    if len(set(volumes)) != len(volumes):
        raise ServiceError(_("Two tiers start at the same volume."), field="tiers")
    for tier in terms.tiers:
        if tier.min_volume < 2:
            raise ServiceError(_("A tier starts at a volume of 2 or more."), field="tiers")
        if tier.fixed_amount < 0 or not Decimal(0) <= tier.revenue_share <= ONE:
            raise ServiceError(
                _("A tier's amount cannot be negative and its share lies between 0 and 1."),
                field="tiers",
            )


def add_rule(*, actor: Any, rule_set_id: int, terms: RuleTerms) -> CommissionRule:
    with transaction.atomic():
        rule_set = _draft(actor=actor, pk=rule_set_id)
        _validate_terms(terms, rule_set)
        rule = CommissionRule.objects.create(
            rule_set=rule_set,
            product=terms.product.strip(),
            plan_id=terms.plan_id.strip(),
            store_type=terms.store_type,
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            fixed_amount=terms.fixed_amount,
            upfront_share=terms.upfront_share,
            deferred_months=terms.deferred_months if terms.upfront_share < ONE else 0,
            revenue_share=terms.revenue_share,
            revenue_months=terms.revenue_months if terms.revenue_share > 0 else 0,
            clawback_months=terms.clawback_months,
            note=terms.note.strip(),
        )
        CommissionTier.objects.bulk_create(
            CommissionTier(
                rule=rule,
                min_volume=t.min_volume,
                fixed_amount=t.fixed_amount,
                revenue_share=t.revenue_share,
            )
            for t in terms.tiers
        )
    return rule


def delete_rule(*, actor: Any, rule_set_id: int, rule_id: int) -> None:
    with transaction.atomic():
        rule_set = _draft(actor=actor, pk=rule_set_id)
        deleted, _counts = CommissionRule.objects.filter(rule_set=rule_set, pk=rule_id).delete()
        if not deleted:
            raise NotFound()


def new_version(*, actor: Any, rule_set_id: int) -> CommissionRuleSet:
    """A draft copy of the set with its rules, as the next version of its name, valid from the
    first day of next month (change it before publishing)."""
    with transaction.atomic():
        source = _changeable(actor=actor, pk=rule_set_id)
        latest = CommissionRuleSet.objects.filter(name=source.name).aggregate(v=Max("version"))
        start = Month.parse(timezone.localdate().strftime("%Y-%m")).shift(1).first_day
        copy = CommissionRuleSet.objects.create(
            name=source.name,
            version=latest["v"] + 1,
            valid_from=max(start, source.valid_from),
            valid_until=source.valid_until,
            note=source.note,
            org_unit=source.org_unit,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        for rule in source.rules.prefetch_related("tiers"):
            tiers = list(rule.tiers.all())
            rule.pk = None
            rule.rule_set = copy
            rule.valid_from = None
            rule.valid_until = None
            rule.save()
            CommissionTier.objects.bulk_create(
                CommissionTier(
                    rule=rule,
                    min_volume=t.min_volume,
                    fixed_amount=t.fixed_amount,
                    revenue_share=t.revenue_share,
                )
                for t in tiers
            )
    return copy


# --- Checks ------------------------------------------------------------------------------


def windows(rule_set: CommissionRuleSet) -> list[RuleWindow]:
    found = []
    for rule in rule_set.rules.all():
        days = coverage.clip(
            rule.valid_from, rule.valid_until, start=rule_set.valid_from, end=rule_set.valid_until
        )
        if days is None:
            continue
        found.append(
            RuleWindow(
                rule_id=rule.pk,
                product=rule.product,
                plan_id=rule.plan_id,
                store_type=rule.store_type,
                start=days[0],
                end=days[1],
            )
        )
    return found


def _until(day: dt.date | None) -> str:
    return str(day) if day is not None else _("open-ended")


def _type_text(store_type: str) -> str:
    from quanwang.channels.choices import StoreType

    return str(StoreType(store_type).label) if store_type else _("every store type")


def _plan_text(plan_id: str) -> str:
    return _("plan %(plan)s") % {"plan": plan_id} if plan_id else _("every plan")


def overlap_text(found: Overlap) -> str:
    return _(
        "Overlap: product %(product)s, %(store_type)s, %(plan)s: rules #%(first)d and "
        "#%(second)d both apply from %(start)s to %(end)s."
    ) % {
        "product": found.first.product,
        "store_type": _type_text(found.store_type),
        "plan": _plan_text(found.plan_id),
        "first": found.first.rule_id,
        "second": found.second.rule_id,
        "start": found.start,
        "end": _until(found.end),
    }


def gap_text(found: Gap) -> str:
    from quanwang.channels.choices import StoreType

    types = (
        _("every store type")
        if len(found.store_types) == len(StoreType.values)
        else "、".join(_type_text(t) for t in found.store_types)
    )
    plan = _plan_text(found.plan_id) if found.plan_id else _("plans no rule names")
    return _(
        "Gap: product %(product)s, %(store_types)s, %(plan)s: no rule from %(start)s to %(end)s."
    ) % {
        "product": found.product,
        "store_types": types,
        "plan": plan,
        "start": found.start,
        "end": _until(found.end),
    }


def _effective_end(rule_set: CommissionRuleSet) -> dt.date | None:
    if rule_set.superseded_on is None:
        return rule_set.valid_until
    return coverage._earlier(rule_set.valid_until, rule_set.superseded_on - coverage.DAY)


def _conflicts(rule_set: CommissionRuleSet) -> tuple[list[str], list[CommissionRuleSet]]:
    """Problems with the published sets (another name overlapping; an older version that
    would come back after this one ends) and the older versions this one supersedes."""
    problems: list[str] = []
    superseded: list[CommissionRuleSet] = []
    others = CommissionRuleSet.objects.filter(status=RuleSetStatus.ACTIVE).exclude(pk=rule_set.pk)
    for other in others.order_by("name", "version"):
        other_end = _effective_end(other)
        start = max(other.valid_from, rule_set.valid_from)
        end = coverage._earlier(other_end, rule_set.valid_until)
        if end is not None and end < start:
            continue
        if other.name == rule_set.name and other.version < rule_set.version:
            outlives = rule_set.valid_until is not None and (
                other_end is None or other_end > rule_set.valid_until
            )
            if outlives:
                problems.append(
                    _(
                        "Version %(old)d of this rule set runs on after this version ends "
                        "(%(end)s): end this version on the same day or later."
                    )
                    % {"old": other.version, "end": rule_set.valid_until}
                )
            else:
                superseded.append(other)
            continue
        problems.append(
            _(
                "Overlap with the published rule set %(other)s: both apply from %(start)s to "
                "%(end)s."
            )
            % {"other": str(other), "start": start, "end": _until(end)}
        )
    return problems, superseded


def _frozen_problem(rule_set: CommissionRuleSet) -> str | None:
    """A set must not change what approved statements paid: it starts after their months."""
    first_month = rule_set.valid_from.strftime("%Y-%m")
    frozen = (
        CommissionStatement.objects.filter(status=StatementStatus.APPROVED, month__gte=first_month)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )
    if frozen is None:
        return None
    next_day = Month.parse(frozen).shift(1).first_day
    return _(
        "Statements of %(month)s are approved and frozen: a rule set may only start on "
        "%(day)s or later."
    ) % {"month": frozen, "day": next_day}


def check_rule_set(rule_set: CommissionRuleSet) -> list[str]:
    """Every reason the set cannot be published, in the user's language; empty: it can."""
    problems: list[str] = []
    found = windows(rule_set)
    if not found:
        problems.append(_("The rule set has no rules."))
    problems.extend(overlap_text(o) for o in coverage.overlaps(found))
    problems.extend(
        gap_text(g)
        for g in coverage.gaps(found, start=rule_set.valid_from, end=rule_set.valid_until)
    )
    if found:
        problems.extend(
            unruled_sales(windows=found, start=rule_set.valid_from, end=rule_set.valid_until)
        )
    conflicts, _superseded = _conflicts(rule_set)
    problems.extend(conflicts)
    frozen = _frozen_problem(rule_set)
    if frozen:
        problems.append(frozen)
    return problems[:MAX_PROBLEMS]


def publish_rule_set(*, actor: Any, rule_set_id: int) -> CommissionRuleSet:
    """Check the draft and make it the rules in force, superseding older versions of its name
    from its first day; RuleSetRefused names every problem."""
    with transaction.atomic():
        rule_set = _draft(actor=actor, pk=rule_set_id)
        # One publish at a time: the checks read the other published sets.
        list(CommissionRuleSet.objects.select_for_update().filter(status=RuleSetStatus.ACTIVE))
        problems = check_rule_set(rule_set)
        if problems:
            raise RuleSetRefused(problems)
        _conflicts_found, superseded = _conflicts(rule_set)
        for older in superseded:
            older.superseded_on = rule_set.valid_from
            if older.valid_from >= rule_set.valid_from:
                older.status = RuleSetStatus.RETIRED
            older.save(update_fields=["superseded_on", "status"])
        rule_set.status = RuleSetStatus.ACTIVE
        rule_set.published_by = actor if getattr(actor, "pk", None) else None
        rule_set.published_at = timezone.now()
        rule_set.save(update_fields=["status", "published_by", "published_at"])
    return rule_set


# --- What a run reads --------------------------------------------------------------------


def rules_in_force() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The published rules with the days each applies (its set's, cut where a newer version
    takes over), and their tiers: plain rows for the computation."""
    rules: list[dict[str, Any]] = []
    tiers: list[dict[str, Any]] = []
    sets = CommissionRuleSet.objects.filter(
        status__in=(RuleSetStatus.ACTIVE, RuleSetStatus.RETIRED)
    ).prefetch_related("rules__tiers")
    for rule_set in sets.order_by("pk"):
        set_end = _effective_end(rule_set)
        if set_end is not None and set_end < rule_set.valid_from:
            continue
        for rule in rule_set.rules.all():
            days = coverage.clip(
                rule.valid_from, rule.valid_until, start=rule_set.valid_from, end=set_end
            )
            if days is None:
                continue
            rules.append(
                {
                    "rule_id": rule.pk,
                    "rule_set_id": rule_set.pk,
                    "rule_set": rule_set.name,
                    "version": rule_set.version,
                    "product": rule.product,
                    "plan_id": rule.plan_id or None,
                    "store_type": rule.store_type or None,
                    "eff_from": days[0],
                    "eff_until": days[1],
                    "fixed_amount": rule.fixed_amount,
                    "upfront_share": rule.upfront_share,
                    "deferred_months": rule.deferred_months,
                    "revenue_share": rule.revenue_share,
                    "revenue_months": rule.revenue_months,
                    "clawback_months": rule.clawback_months,
                }
            )
            tiers.extend(
                {
                    "rule_id": rule.pk,
                    "min_volume": tier.min_volume,
                    "fixed_amount": tier.fixed_amount,
                    "revenue_share": tier.revenue_share,
                }
                for tier in rule.tiers.all()
            )
    return rules, tiers
