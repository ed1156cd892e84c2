"""Forms of the work pages. They only parse input; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.core.forms import DayInput
from quanwang.enterprise.choices import ManagerGrade
from quanwang.enterprise.models.work import MAX_INTERVAL_DAYS, NOTE_MAX_LENGTH, VisitPurpose


class VisitForm(forms.Form):
    """A visit: purpose, the account's key persons met, outcome, next step and follow-up."""

    # Made when the form is shown; sent back with it, so that a second send is known.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    visited_on = forms.DateField(label=_("Visited on"), widget=DayInput())
    purpose = forms.ChoiceField(label=_("Purpose"), choices=VisitPurpose.choices)
    persons_met = forms.TypedMultipleChoiceField(
        label=_("Persons met"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The account's key persons you met."),
    )
    outcome = forms.CharField(
        label=_("Outcome"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What came of the visit: needs heard, answers given, agreements."),
    )
    next_step = forms.CharField(
        label=_("Next step"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    follow_up_on = forms.DateField(
        label=_("Follow up on"),
        required=False,
        widget=DayInput(),
        help_text=_("The account is due again on this day, whatever its visit plan says."),
    )

    def __init__(self, *args: Any, persons: list[tuple[int, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["persons_met"].choices = persons  # type: ignore[attr-defined]


class GradeForm(forms.Form):
    grade = forms.ChoiceField(label=_("Manager grade"), choices=ManagerGrade.choices)
    effective_on = forms.DateField(label=_("Effective on"), widget=DayInput())
    reason = forms.CharField(
        label=_("Reason"), max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


def _days(label: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=1, max_value=MAX_INTERVAL_DAYS)


class PlanForm(forms.Form):
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False)
    interval_a = _days(_("Grade A: days between visits"))
    interval_b = _days(_("Grade B: days between visits"))
    interval_c = _days(_("Grade C: days between visits"))
    interval_ungraded = _days(_("Not graded: days between visits"))
    note = forms.CharField(label=_("Why it changes"), max_length=200, required=False)
