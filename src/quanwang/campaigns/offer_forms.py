"""Console forms of the offer catalogue (优惠目录); campaigns.services.offers checks the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import OfferStatus, OfferType, PaymentType
from quanwang.campaigns.models import Offer
from quanwang.campaigns.services.offers import FIXED_ONCE_COMMITTED, OfferFilters, OfferTerms
from quanwang.core.choices import OrgLevel
from quanwang.core.forms import DayInput
from quanwang.insight.choices import ValueTier


class OfferForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("Letters, digits, - or _, e.g. GZ-SUB-30; it never changes."),
    )
    name = forms.CharField(label=_("Offer name"), max_length=100)
    offer_type = forms.ChoiceField(label=_("Promotion tool"), choices=OfferType.choices)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the customer gets and how it is redeemed."),
    )
    cost_per_taker = forms.DecimalField(
        label=_("Cost per taker (yuan)"), max_digits=10, decimal_places=2, min_value=0
    )
    monthly_revenue_change = forms.DecimalField(
        label=_("Monthly revenue change per taker (yuan)"),
        max_digits=10,
        decimal_places=2,
        initial=0,
        help_text=_("What a taker adds to their monthly bill; negative for a discount."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DayInput())
    valid_until = forms.DateField(label=_("Valid until"), widget=DayInput())
    eligible_tiers = forms.MultipleChoiceField(
        label=_("Eligible value tiers"),
        choices=ValueTier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every tier."),
    )
    eligible_payment = forms.ChoiceField(
        label=_("Eligible payment type"),
        choices=[("", _("Either")), *PaymentType.choices],
        required=False,
    )
    eligibility = forms.CharField(
        label=_("Other conditions"),
        required=False,
        max_length=500,
        help_text=_(
            "Shown to whoever picks the offer. The campaign's segment decides whom it "
            "contacts: add these conditions to the segment too."
        ),
    )

    def __init__(
        self, *args: Any, offer: Offer | None = None, fixed: bool = False, **kwargs: Any
    ) -> None:
        """`offer`: the offer edited (its code stays); `fixed`: a submitted or later campaign
        uses it, so only its name, description, other conditions and end date may change."""
        if offer is not None:
            kwargs.setdefault("initial", initial_of(offer))
        super().__init__(*args, **kwargs)
        if offer is not None:
            del self.fields["code"]
        if fixed:
            for name in FIXED_ONCE_COMMITTED:
                self.fields[name].disabled = True

    def terms(self) -> OfferTerms:
        data = self.cleaned_data
        return OfferTerms(
            name=data["name"],
            offer_type=OfferType(data["offer_type"]),
            cost_per_taker=data["cost_per_taker"],
            monthly_revenue_change=data["monthly_revenue_change"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            description=data["description"],
            eligible_tiers=tuple(ValueTier(t) for t in data["eligible_tiers"]),
            eligible_payment=PaymentType(data["eligible_payment"])
            if data["eligible_payment"]
            else None,
            eligibility=data["eligibility"],
        )


def initial_of(offer: Offer) -> dict[str, Any]:
    return {
        "name": offer.name,
        "offer_type": offer.offer_type,
        "description": offer.description,
        "cost_per_taker": offer.cost_per_taker,
        "monthly_revenue_change": offer.monthly_revenue_change,
        "valid_from": offer.valid_from,
        "valid_until": offer.valid_until,
        "eligible_tiers": list(offer.eligible_tiers),
        "eligible_payment": offer.eligible_payment,
        "eligibility": offer.eligibility,
    }


class OfferFilterForm(forms.Form):
    """The catalogue's filters (GET); by default the offers available today."""

    q = forms.CharField(label=_("Code or name"), required=False, max_length=100)
    offer_type = forms.ChoiceField(
        label=_("Promotion tool"), choices=[("", _("All")), *OfferType.choices], required=False
    )
    level = forms.ChoiceField(
        label=_("Level"),
        choices=[("", _("All")), *[(v, lbl) for v, lbl in OrgLevel.choices if v != OrgLevel.GRID]],
        required=False,
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[*OfferStatus.choices, ("all", _("All"))],
        required=False,
    )

    def filters(self) -> OfferFilters:
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status") or OfferStatus.ACTIVE
        return OfferFilters(
            offer_type=OfferType(data["offer_type"]) if data.get("offer_type") else None,
            level=OrgLevel(data["level"]) if data.get("level") else None,
            status=None if status == "all" else OfferStatus(status),
            text=data.get("q") or "",
        )


class RetireForm(forms.Form):
    reason = forms.CharField(label=_("Why retire it"), required=False, max_length=200)
