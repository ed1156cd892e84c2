"""Forms of the visits pages. They only parse input; the rules live in services."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.channels.models.visits import MAX_INTERVAL_DAYS, NOTE_MAX_LENGTH
from quanwang.channels.visits.choices import (
    CLOSED_COMMITMENT,
    ISSUE_MOVES,
    CommitmentSide,
    IssueCategory,
    IssueStatus,
)
from quanwang.core.forms import DayInput


def _note(label: Any, help_text: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class VisitForm(forms.Form):
    """A visit on the four-point checklist, and an issue the partner raised in it."""

    # Made when the form is shown; sent back with it, so that a second send is known.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    visited_on = forms.DateField(label=_("Visited on"), widget=DayInput())
    how_are_things = _note(
        _("How are things (询近况)"), _("Business, footfall, staff, what worries them.")
    )
    new_plans = _note(_("New plans (问新情)"), _("What they plan: new lines, events, changes."))
    our_support = _note(
        _("Our support (表支持)"), _("What we offered: stock, training, campaigns, materials.")
    )
    their_commitment = _note(
        _("Their commitment (问承诺)"), _("What they undertook to do; list each below too.")
    )
    issue_category = forms.ChoiceField(
        label=_("Issue the partner raised"),
        required=False,
        choices=[("", _("None")), *IssueCategory.choices],
    )
    issue_description = forms.CharField(
        label=_("The issue, in their words"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @staticmethod
    def fresh_key() -> uuid.UUID:
        return uuid.uuid4()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("issue_category") and not (data.get("issue_description") or "").strip():
            self.add_error("issue_description", _("Describe the issue."))
        if (data.get("issue_description") or "").strip() and not data.get("issue_category"):
            self.add_error("issue_category", _("Choose what the issue is about."))
        return data


class CommitmentForm(forms.Form):
    """One commitment made in the visit; a row left empty is none."""

    side = forms.ChoiceField(
        label=_("Committed by"), choices=CommitmentSide.choices, initial=CommitmentSide.PARTNER
    )
    what = forms.CharField(label=_("What was promised"), max_length=300, required=False)
    due_on = forms.DateField(label=_("Due by"), required=False, widget=DayInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        what = (data.get("what") or "").strip()
        if what and not data.get("due_on"):
            self.add_error("due_on", _("Say by when."))
        if data.get("due_on") and not what:
            self.add_error("what", _("Say what was promised."))
        return data


class _CommitmentRows(forms.BaseFormSet):
    # A form sent without its row count (cut short, or forged): said in words, not Django's.
    default_error_messages = {
        "missing_management_form": _("The form was incomplete: open it again and resend it."),
    }


CommitmentFormSet = forms.formset_factory(
    CommitmentForm, formset=_CommitmentRows, extra=2, max_num=5, validate_max=True
)


class CloseCommitmentForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[(s.value, s.label) for s in CLOSED_COMMITMENT]
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class MoveIssueForm(forms.Form):
    to = forms.ChoiceField(
        label=_("New status"),
        choices=[(s.value, s.label) for s in (IssueStatus.IN_PROGRESS, IssueStatus.RESOLVED)],
    )

    def __init__(self, *args: Any, current: IssueStatus | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if current is not None:
            # Only the moves the issue's state allows (the service checks again).
            field: Any = self.fields["to"]
            field.choices = [(s.value, s.label) for s in ISSUE_MOVES[current]]

    resolution = forms.CharField(
        label=_("How it was resolved"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RaiseIssueForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    category = forms.ChoiceField(label=_("What is it about"), choices=IssueCategory.choices)
    description = forms.CharField(
        label=_("Describe the issue"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _days(label: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=MAX_INTERVAL_DAYS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class PlanForm(forms.Form):
    """Days between visits of each grade (plan.plan_field names the fields)."""

    key = _days(_("Key stores (重点店): days between visits"))
    anchor = _days(_("Anchor stores (钉子店): days between visits"))
    small = _days(_("Small stores (芝麻店): days between visits"))
    ungraded = _days(_("Stores without a grade: days between visits"))


class IssueFilterForm(forms.Form):
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All")), *IssueCategory.choices]
    )
    resolved = forms.BooleanField(label=_("Resolved ones"), required=False)


class CommitmentFilterForm(forms.Form):
    side = forms.ChoiceField(
        label=_("Committed by"),
        required=False,
        choices=[("", _("Either side")), *CommitmentSide.choices],
    )
