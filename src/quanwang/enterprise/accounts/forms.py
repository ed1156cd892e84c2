"""Console forms of the accounts part. They only parse input; the rules live in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.enterprise.accounts.services.team import REASON_MAX_LENGTH
from quanwang.enterprise.choices import Ownership, TeamRole

TEAM_ROLES = [(v, label) for v, label in TeamRole.choices if v != TeamRole.LEAD]


def _reason(*, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        required=required,
        widget=forms.TextInput(),
    )


class OwnershipForm(forms.Form):
    ownership = forms.ChoiceField(label=_("Ownership"), choices=Ownership.choices)
    reason = _reason()


class MoveForm(forms.Form):
    parent = forms.CharField(
        label=_("Parent account (enterprise ID; empty for none)"), max_length=40, required=False
    )
    reason = _reason()


class MemberForm(forms.Form):
    employee_no = forms.CharField(label=_("Employee number"), max_length=32)
    role = forms.ChoiceField(label=_("Role"), choices=TEAM_ROLES)
    reason = _reason(required=False)


class RemoveForm(forms.Form):
    employee_no = forms.CharField(label=_("Employee number"), max_length=32)


class LeadForm(forms.Form):
    employee_no = forms.CharField(label=_("Employee number"), max_length=32)
    reason = _reason()


class MergeForm(forms.Form):
    merged = forms.CharField(label=_("Duplicate account to fold in (enterprise ID)"), max_length=40)
    reason = _reason()
