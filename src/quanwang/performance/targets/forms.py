"""Forms of the targets pages: set, decompose, change (asks where the difference goes)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.performance.choices import Grain
from quanwang.performance.targets.choices import Absorb, Into, Rule


class SetForm(forms.Form):
    kpi = forms.CharField(label=_("KPI"), max_length=64)
    period = forms.CharField(label=_("Period"), max_length=8)
    grain = forms.ChoiceField(label=_("For"), choices=Grain.choices, initial=Grain.ORG_UNIT)
    key = forms.CharField(label=_("Unit code, employee number, store or account ID"), max_length=64)
    value = forms.CharField(label=_("Target"), max_length=32)
    deadline = forms.DateField(label=_("Deadline"), required=False)
    reason = forms.CharField(label=_("Why"), max_length=300, required=False)


class DecomposeForm(forms.Form):
    rule = forms.ChoiceField(label=_("Rule"), choices=Rule.choices)
    into = forms.ChoiceField(label=_("Over"), choices=Into.choices)
    basis_kpi = forms.CharField(label=_("Potential KPI"), max_length=64, required=False)
    manual = forms.CharField(
        label=_("Manual values"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One line per child: its code, a space, its value."),
    )
    reason = forms.CharField(label=_("Why"), max_length=300, required=False)

    def manual_values(self) -> dict[str, str]:
        values = {}
        for line in (self.cleaned_data.get("manual") or "").splitlines():
            parts = line.replace("，", " ").replace(",", " ").split()
            if len(parts) == 2:
                values[parts[0]] = parts[1]
            elif parts:
                self.add_error("manual", _("Write each line as a code and a value."))
        return values


class ChangeForm(forms.Form):
    value = forms.CharField(label=_("New target"), max_length=32)
    absorb = forms.ChoiceField(
        label=_("Where the difference goes"), choices=Absorb.choices, initial=Absorb.SIBLINGS
    )
    sibling = forms.CharField(label=_("Sibling that takes it"), max_length=64, required=False)
    reason = forms.CharField(label=_("Why"), max_length=300)
    expected_before = forms.CharField(widget=forms.HiddenInput)
