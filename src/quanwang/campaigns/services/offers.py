"""The offer catalogue (优惠目录): each org unit manages its own offers, and a campaign uses
the offers of its own unit and of the units above it, never a sibling's.

Who may change what comes from the permission table (Resource.OFFER, `restrict`); seeing the
offers of the units above follows from holding VIEW on offers at all. Every change is written
to the audit log. An offer a campaign used is retired, never deleted; once a campaign past
its draft uses it, its tool, money and eligibility stay fixed (evaluation reads them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import CampaignState, OfferStatus, OfferType, PaymentType
from quanwang.campaigns.models import Campaign, Offer
from quanwang.core.choices import Action, AuditAction, AuditTarget, OrgLevel, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments, scope_filter
from quanwang.core.services import audit
from quanwang.core.services.orgs import units_granting
from quanwang.insight.choices import ValueTier

FEN = Decimal("0.01")
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
# Campaigns in these states may still change; any later one has committed to the offer's terms.
UNCOMMITTED = frozenset({CampaignState.DRAFT, CampaignState.REJECTED})
# The terms a committed campaign's estimate and evaluation read; validity may still be extended.
FIXED_ONCE_COMMITTED = (
    "offer_type",
    "cost_per_taker",
    "monthly_revenue_change",
    "valid_from",
    "eligible_tiers",
    "eligible_payment",
)


@dataclass(frozen=True)
class OfferTerms:
    """What a marketer fills in for an offer (its code is given once, at creation)."""

    name: str
    offer_type: OfferType
    cost_per_taker: Decimal
    monthly_revenue_change: Decimal
    valid_from: dt.date
    valid_until: dt.date
    description: str = ""
    eligible_tiers: tuple[ValueTier, ...] = ()
    eligible_payment: PaymentType | None = None
    eligibility: str = ""

    def values(self) -> dict[str, Any]:
        """The model fields these terms set."""
        return {
            "name": self.name.strip(),
            "offer_type": str(self.offer_type),
            # In fen, as stored: a change from 20.00 to 20 is no change.
            "cost_per_taker": self.cost_per_taker.quantize(FEN),
            "monthly_revenue_change": self.monthly_revenue_change.quantize(FEN),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "description": self.description.strip(),
            # Tier order as the pyramid reads, whatever order they were ticked in.
            "eligible_tiers": [t.value for t in ValueTier if t in self.eligible_tiers],
            "eligible_payment": str(self.eligible_payment or ""),
            "eligibility": self.eligibility.strip(),
        }


@dataclass(frozen=True)
class OfferFilters:
    """The catalogue page's filters; None: no filter."""

    offer_type: OfferType | None = None
    level: OrgLevel | None = None
    status: OfferStatus | None = None
    text: str = ""


def unit_and_ancestor_paths(path: str) -> list[str]:
    """The paths of a unit and of every unit above it: "/GD/GZ/TH/" → "/GD/", "/GD/GZ/",
    "/GD/GZ/TH/" (a path is its ancestors' codes in order)."""
    codes = [code for code in path.split("/") if code]
    return ["/" + "/".join(codes[: n + 1]) + "/" for n in range(len(codes))]


def normalise_code(code: str) -> str:
    """An offer code as stored: trimmed, upper case, letters, digits, - and _ only."""
    text = code.strip().upper()
    if not CODE_PATTERN.fullmatch(text):
        raise ServiceError(
            _("Use 1 to 40 letters, digits, - or _ for the code, starting with a letter or digit."),
            field="code",
        )
    return text


def catalogue(*, user: Any) -> QuerySet[Offer]:
    """The offers `user` may see: those of the units their grants reach (and below), and those
    of the units above, which their campaigns may use. Everything for the system (None)."""
    offers = Offer.objects.select_related("org_unit")
    if user is None:
        return offers
    q = scope_filter(
        user,
        resource=Resource.OFFER,
        action=Action.VIEW,
        org_path_field=Offer.scope_org_path,
        owner_field=None,
    )
    if q is None:
        return offers
    above = {
        path
        for assignment in active_assignments(user)
        if reach(role=assignment.role, resource=Resource.OFFER, action=Action.VIEW) is not None
        for path in unit_and_ancestor_paths(assignment.org_unit.path)
    }
    return offers.filter(q | Q(org_unit__path__in=above))


def filtered(offers: QuerySet[Offer], *, filters: OfferFilters, today: dt.date) -> QuerySet[Offer]:
    if filters.offer_type is not None:
        offers = offers.filter(offer_type=filters.offer_type)
    if filters.level is not None:
        offers = offers.filter(org_unit__level=filters.level)
    if filters.text.strip():
        text = filters.text.strip()
        offers = offers.filter(Q(code__icontains=text) | Q(name__icontains=text))
    if filters.status is OfferStatus.RETIRED:
        offers = offers.filter(retired_at__isnull=False)
    elif filters.status is OfferStatus.EXPIRED:
        offers = offers.filter(retired_at__isnull=True, valid_until__lt=today)
    elif filters.status is OfferStatus.ACTIVE:
        offers = offers.filter(retired_at__isnull=True, valid_until__gte=today)
    return offers.order_by("org_unit__path", "code")


def usable_offers(*, org_unit: OrgUnit, today: dt.date | None = None) -> QuerySet[Offer]:
    """The offers a campaign of `org_unit` may attach: its own unit's and its ancestors',
    not retired, still valid on `today` (by default, today)."""
    return (
        Offer.objects.select_related("org_unit")
        .filter(
            org_unit__path__in=unit_and_ancestor_paths(org_unit.path),
            retired_at__isnull=True,
            valid_until__gte=today or timezone.localdate(),
        )
        .order_by("org_unit__path", "code")
    )


def check_usable(*, org_unit: OrgUnit, offers: Iterable[Offer], lock: bool = False) -> None:
    """Refuse offers a campaign of `org_unit` may not attach: retired ones, and those of a unit
    that is not its own or above it. With `lock` (inside the campaign's transaction), the
    offers' rows are locked, so a retirement cannot slip in between."""
    chosen = {offer.pk for offer in offers}
    if not chosen:
        return
    rows = Offer.objects.filter(pk__in=chosen)
    if lock:
        rows = rows.select_for_update()
    allowed = set(unit_and_ancestor_paths(org_unit.path))
    found = {offer.pk: offer for offer in rows.select_related("org_unit")}
    for pk in sorted(chosen):
        offer = found.get(pk)
        if offer is None or offer.org_unit.path not in allowed:
            # Not named: it may be another unit's offer the user cannot see.
            raise ServiceError(
                _("An offer you chose is neither your unit's nor from a unit above it."),
                field="offers",
            )
        if offer.retired_at is not None:
            raise ServiceError(
                _("Offer %(offer)s is retired: choose one in force.") % {"offer": offer.code},
                field="offers",
            )


def committed_campaigns(*, offer: Offer) -> QuerySet[Campaign]:
    """Campaigns past their draft that use `offer`."""
    return Campaign.objects.filter(offers=offer).exclude(state__in=UNCOMMITTED)


def in_use(*, offer: Offer) -> bool:
    return Campaign.objects.filter(offers=offer).exists()


def _check_terms(terms: OfferTerms) -> None:
    if not terms.name.strip():
        raise ServiceError(_("Name the offer."), field="name")
    if terms.valid_until < terms.valid_from:
        raise ServiceError(_("The offer's validity ends before it starts."), field="valid_until")
    if terms.cost_per_taker < 0:
        raise ServiceError(_("The cost per taker cannot be negative."), field="cost_per_taker")


def _shown(name: str, value: Any) -> str:
    """A field's value as the audit log shows it."""
    if name == "offer_type":
        return str(OfferType(value).label)
    if name == "eligible_tiers":
        return "、".join(str(ValueTier(t).label) for t in value) or _("every tier")
    if name == "eligible_payment":
        return str(PaymentType(value).label) if value else _("either payment type")
    return str(value) if value not in ("", None) else "—"


def _summary(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """What an audit record says: each field's new value, or old → new for a change."""
    parts = []
    for name, value in after.items():
        label = str(getattr(Offer._meta.get_field(name), "verbose_name", name))
        if before is None:
            parts.append(f"{label}: {_shown(name, value)}")
        elif before[name] != value:
            parts.append(f"{label}: {_shown(name, before[name])} → {_shown(name, value)}")
    text = "; ".join(parts)
    limit = audit.REASON_MAX_LENGTH
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _audit(*, actor: Any, action: AuditAction, offer: Offer, reason: str, ip: str | None) -> None:
    audit.record(
        actor=actor,
        action=action,
        target=offer,
        target_type=AuditTarget.OFFER,
        target_repr=str(offer),
        org_unit=offer.org_unit,
        reason=reason,
        ip_address=ip,
    )


def _replayed(*, existing: Offer, actor: Any, org_unit: OrgUnit, values: dict[str, Any]) -> bool:
    """Whether `existing` is this very offer created a moment ago by the same person (a form
    posted twice): then it is the answer, not a clash."""
    return (
        actor is not None
        and existing.created_by_id == getattr(actor, "pk", None)
        and existing.org_unit_id == org_unit.pk
        and existing.retired_at is None
        and all(getattr(existing, name) == value for name, value in values.items())
    )


def _code_taken(*, code: str, actor: Any, org_unit: OrgUnit, values: dict[str, Any]) -> Offer:
    existing = Offer.objects.filter(code=code).first()
    if existing is not None and _replayed(
        existing=existing, actor=actor, org_unit=org_unit, values=values
    ):
        return existing
    # Whose offer holds the code is not said: it may be another unit's.
    raise ServiceError(_("This code is taken; choose another."), field="code")


def create_offer(
    *,
    actor: Any,
    org_unit: OrgUnit,
    code: str,
    terms: OfferTerms,
    ip_address: str | None = None,
) -> Offer:
    """A new offer of `org_unit`'s catalogue. The same form posted twice gives the one offer."""
    if (
        actor is not None
        and not units_granting(user=actor, resource=Resource.OFFER, action=Action.ADD)
        .filter(pk=org_unit.pk)
        .exists()
    ):
        raise NotFound()
    _check_terms(terms)
    code = normalise_code(code)
    values = terms.values()
    if Offer.objects.filter(code=code).exists():
        return _code_taken(code=code, actor=actor, org_unit=org_unit, values=values)
    try:
        with transaction.atomic():
            offer = Offer.objects.create(
                code=code, org_unit=org_unit, created_by=actor if actor else None, **values
            )
            _audit(
                actor=actor,
                action=AuditAction.OFFER_CREATED,
                offer=offer,
                reason=_summary(None, values),
                ip=ip_address,
            )
    except IntegrityError:
        # The twin request won the race for the code.
        return _code_taken(code=code, actor=actor, org_unit=org_unit, values=values)
    return offer


def _changeable(actor: Any, action: Action = Action.CHANGE) -> QuerySet[Offer]:
    if actor is None:
        return Offer.objects.all()
    return Offer.objects.restrict(actor, action)


def get_changeable(*, actor: Any, pk: int) -> Offer:
    """An offer `actor` may change; NotFound otherwise (outside their scope looks the same)."""
    offer = _changeable(actor).select_related("org_unit").filter(pk=pk).first()
    if offer is None:
        raise NotFound()
    return offer


def change_offer(*, actor: Any, pk: int, terms: OfferTerms, ip_address: str | None = None) -> Offer:
    """New terms for an offer of the actor's scope."""
    _check_terms(terms)
    values = terms.values()
    with transaction.atomic():
        offer = _changeable(actor).select_for_update().filter(pk=pk).first()
        if offer is None:
            raise NotFound()
        if offer.retired_at is not None:
            raise ServiceError(_("A retired offer does not change; create a new one."))
        before = {name: getattr(offer, name) for name in values}
        changed = [name for name, value in values.items() if before[name] != value]
        if not changed:
            return offer
        fixed = [name for name in changed if name in FIXED_ONCE_COMMITTED]
        shortened = "valid_until" in changed and values["valid_until"] < before["valid_until"]
        if (fixed or shortened) and committed_campaigns(offer=offer).exists():
            raise ServiceError(
                _("A submitted or later campaign uses this offer, so its tool, costs, revenue "
                  "effect, eligibility and start stay as they are, and its validity can only "
                  "be extended. Retire it and create a new offer to change them."),
                field=fixed[0] if fixed else "valid_until",
            )  # fmt: skip
        for name in changed:
            setattr(offer, name, values[name])
        offer.save(update_fields=[*changed, "updated_at"])
        _audit(
            actor=actor,
            action=AuditAction.OFFER_CHANGED,
            offer=offer,
            reason=_summary(before, values),
            ip=ip_address,
        )
    return offer


def retire_offer(*, actor: Any, pk: int, reason: str = "", ip_address: str | None = None) -> Offer:
    """Retire an offer: campaigns that use it keep it; no new campaign can attach it."""
    with transaction.atomic():
        offer = _changeable(actor).select_for_update().filter(pk=pk).first()
        if offer is None:
            raise NotFound()
        if offer.retired_at is not None:
            return offer  # retiring twice (a double click) changes nothing
        offer.retired_at = timezone.now()
        offer.retired_by = actor if actor else None
        offer.save(update_fields=["retired_at", "retired_by", "updated_at"])
        _audit(
            actor=actor,
            action=AuditAction.OFFER_RETIRED,
            offer=offer,
            reason=reason.strip()[: audit.REASON_MAX_LENGTH] or _("Retired"),
            ip=ip_address,
        )
    return offer


def delete_offer(*, actor: Any, pk: int, ip_address: str | None = None) -> None:
    """Delete an offer no campaign ever used (a mistake); a used one can only be retired."""
    with transaction.atomic():
        offer = (
            _changeable(actor, Action.DELETE)
            .select_for_update()
            .select_related("org_unit")
            .filter(pk=pk)
            .first()
        )
        if offer is None:
            raise NotFound()
        if in_use(offer=offer):
            raise ServiceError(
                _("A campaign uses this offer, so it stays in the catalogue: retire it instead.")
            )
        _audit(
            actor=actor,
            action=AuditAction.OFFER_DELETED,
            offer=offer,
            reason=_summary(None, {"name": offer.name, "cost_per_taker": offer.cost_per_taker}),
            ip=ip_address,
        )
        offer.delete()
