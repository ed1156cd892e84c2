"""Forms of the persons pages: every label through gettext."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.core.forms import DayInput
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models.persons import Attitude, CareKind, Festival


class ActionForm(forms.Form):
    key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    what = forms.CharField(label=_("What was done"), max_length=200)
    done_on = forms.DateField(label=_("Done on"), widget=DayInput())
    cost = forms.DecimalField(
        label=_("Cost (yuan)"), required=False, min_value=0, max_digits=10, decimal_places=2
    )


class MomentForm(forms.Form):
    key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    kind = forms.ChoiceField(label=_("Kind"), choices=CareKind.choices)
    festival = forms.ChoiceField(
        label=_("Festival"), choices=[("", "—"), *Festival.choices], required=False
    )
    date = forms.DateField(
        label=_("Date"),
        required=False,
        widget=DayInput(),
        help_text=_("Birthdays and festivals take their date from the calendar."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class RatingForm(forms.Form):
    account = forms.TypedChoiceField(label=_("Account"), coerce=int)
    influence = forms.TypedChoiceField(
        label=_("Influence"), coerce=int, choices=[(i, i) for i in range(1, 6)]
    )
    attitude = forms.ChoiceField(label=_("Attitude"), choices=Attitude.choices)
    relationship = forms.TypedChoiceField(
        label=_("Relationship strength"), coerce=int, choices=[(i, i) for i in range(1, 6)]
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8 or GBK) or XLSX from the CRM export.")
    )


class PersonForm(forms.Form):
    """A key person added on an account's page: a new person, or one already on file under
    the same mobile and name, linked with this role."""

    name = forms.CharField(label=_("Name of the person"), max_length=50)
    mobile = forms.CharField(label=_("Mobile number"), max_length=20)
    role = forms.ChoiceField(label=_("Role"), choices=PersonRole.choices)
    title = forms.CharField(label=_("Job title"), max_length=50, required=False)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DayInput())


class InfluenceForm(forms.Form):
    """Who influences whom at the account (the relationship map's arrows)."""

    source = forms.TypedChoiceField(label=_("Person who influences"), coerce=int)
    target = forms.TypedChoiceField(label=_("Person influenced"), coerce=int)
    strength = forms.TypedChoiceField(
        label=_("Strength (1–5)"), coerce=int, choices=[(n, n) for n in range(1, 6)], initial=3
    )
