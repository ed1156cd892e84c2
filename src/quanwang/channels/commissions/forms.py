"""Console forms of the commissions part; the services check the rules."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.channels.choices import StoreType
from quanwang.channels.commissions.choices import StatementStatus
from quanwang.channels.commissions.services.rules import RuleTerms, TierTerms
from quanwang.core.forms import DayInput

MONTH = {"type": "month", "placeholder": "2024-06"}


class RunForm(forms.Form):
    month = forms.RegexField(
        label=gettext_lazy("Month"),
        regex=r"^\d{4}-\d{2}$",
        widget=forms.TextInput(attrs=MONTH),
        error_messages={"invalid": gettext_lazy("Write the month like 2024-06.")},
    )


class StatementFilterForm(forms.Form):
    month = forms.CharField(label=gettext_lazy("Month"), required=False, widget=forms.Select)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All")), *StatementStatus.choices],
    )
    store = forms.CharField(label=gettext_lazy("Store"), required=False, max_length=60)

    def __init__(self, *args: object, months: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["month"].widget = forms.Select(
            choices=[("", _("All")), *((m, m) for m in months)]
        )


class RuleSetForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    valid_from = forms.DateField(label=gettext_lazy("Valid from"), widget=DayInput())
    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"),
        required=False,
        widget=DayInput(),
        help_text=gettext_lazy("Empty: until a newer version replaces it."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RuleSetDatesForm(RuleSetForm):
    """A draft's days and note (its name stays)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        del self.fields["name"]


def _decimal_field(label: Any, *, initial: str, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=4,
        initial=Decimal(initial),
        help_text=help_text,
    )


class RuleForm(forms.Form):
    product = forms.CharField(
        label=gettext_lazy("Product"),
        max_length=60,
        help_text=gettext_lazy("As the sale lines name it, e.g. 号卡, 5G套餐, 宽带."),
    )
    plan_id = forms.CharField(
        label=gettext_lazy("Plan ID"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("Empty: every plan."),
    )
    store_type = forms.ChoiceField(
        label=gettext_lazy("Store type"),
        required=False,
        choices=[("", gettext_lazy("Every store type")), *StoreType.choices],
    )
    valid_from = forms.DateField(
        label=gettext_lazy("Valid from"),
        required=False,
        widget=DayInput(),
        help_text=gettext_lazy("Empty: the rule set's first day."),
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"),
        required=False,
        widget=DayInput(),
        help_text=gettext_lazy("Empty: the rule set's last day."),
    )
    fixed_amount = _decimal_field(gettext_lazy("Fixed amount per sale (yuan)"), initial="0")
    upfront_share = _decimal_field(
        gettext_lazy("Share paid on activation (0–1)"),
        initial="1",
        help_text=gettext_lazy("The rest is paid later if the line is still active."),
    )
    deferred_months = forms.IntegerField(
        label=gettext_lazy("Deferred part paid after months"), min_value=0, initial=0
    )
    revenue_share = _decimal_field(gettext_lazy("Share of monthly revenue (0–1)"), initial="0")
    revenue_months = forms.IntegerField(
        label=gettext_lazy("Revenue months paid"), min_value=0, initial=0
    )
    clawback_months = forms.IntegerField(
        label=gettext_lazy("Clawback if the line churns within months"), min_value=0, initial=0
    )
    tiers = forms.CharField(
        label=gettext_lazy("Volume tiers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "50: 60\n100: 70, 0.12"}),
        help_text=gettext_lazy(
            "One a line: the monthly volume it starts at, the amount per sale, and optionally "
            "the share of revenue, e.g. “50: 60” or “100: 70, 0.12”."
        ),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=200)

    def clean_tiers(self) -> tuple[TierTerms, ...]:
        found = []
        for number, raw in enumerate(self.cleaned_data.get("tiers", "").splitlines(), start=1):
            text = raw.strip().replace("：", ":").replace("，", ",")
            if not text:
                continue
            try:
                volume_text, rest = text.split(":", 1)
                parts = [p.strip() for p in rest.split(",")]
                found.append(
                    TierTerms(
                        min_volume=int(volume_text.strip()),
                        fixed_amount=Decimal(parts[0] or "0"),
                        revenue_share=Decimal(parts[1]) if len(parts) > 1 else Decimal(0),
                    )
                )
            except (ValueError, IndexError, InvalidOperation) as exc:
                raise forms.ValidationError(
                    _("Tier line %(n)d (“%(text)s”) does not read as “volume: amount[, share]”.")
                    % {"n": number, "text": text}
                ) from exc
        return tuple(found)

    def terms(self) -> RuleTerms:
        data = self.cleaned_data
        return RuleTerms(
            product=data["product"],
            plan_id=data["plan_id"],
            store_type=data["store_type"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            fixed_amount=data["fixed_amount"],
            upfront_share=data["upfront_share"],
            deferred_months=data["deferred_months"],
            revenue_share=data["revenue_share"],
            revenue_months=data["revenue_months"],
            clawback_months=data["clawback_months"],
            note=data["note"],
            tiers=data["tiers"],
        )
