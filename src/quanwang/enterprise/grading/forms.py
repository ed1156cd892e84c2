"""Forms of the grading part. They only parse input; the rules live in rules and services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.enterprise.choices import AccountGrade, ServiceLevel
from quanwang.enterprise.grading.choices import QUALITATIVE, QUANTITATIVE, Criterion
from quanwang.enterprise.grading.grades import Rules
from quanwang.enterprise.grading.rules import POINTS_MAX


class RuleSetForm(forms.Form):
    """A province's next version of the grading rules; starts from the version in force."""

    a_min = forms.IntegerField(label=_("Grade A from score"), min_value=0, max_value=POINTS_MAX)
    b_min = forms.IntegerField(label=_("Grade B from score"), min_value=0, max_value=POINTS_MAX)
    qualitative_default = forms.IntegerField(
        label=_("Points of an unscored qualitative criterion"), min_value=0, max_value=POINTS_MAX
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, rules: Rules, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("a_min", rules.a_min)
        self.initial.setdefault("b_min", rules.b_min)
        self.initial.setdefault("qualitative_default", rules.qualitative_default)
        for criterion in Criterion:
            self.fields[f"weight_{criterion}"] = forms.IntegerField(
                label=_("Weight of %(criterion)s (%%)") % {"criterion": criterion.label},
                min_value=0,
                max_value=POINTS_MAX,
                initial=rules.weights.get(str(criterion), 0),
            )
        for criterion in QUANTITATIVE:
            zero, full = rules.scales[str(criterion)]
            self.fields[f"zero_{criterion}"] = forms.FloatField(
                label=_("%(criterion)s worth 0 points") % {"criterion": criterion.label},
                initial=zero,
            )
            self.fields[f"full_{criterion}"] = forms.FloatField(
                label=_("%(criterion)s worth 100 points") % {"criterion": criterion.label},
                initial=full,
            )
        for grade in AccountGrade:
            self.fields[f"service_{grade}"] = forms.ChoiceField(
                label=_("Service level of %(grade)s") % {"grade": grade.label},
                choices=ServiceLevel.choices,
                initial=rules.service_level(str(grade)),
            )


class QualitativeScoreForm(forms.Form):
    criterion = forms.ChoiceField(
        label=_("Criterion"), choices=[(c.value, c.label) for c in QUALITATIVE]
    )
    score = forms.IntegerField(label=_("Score (0–100)"), min_value=0, max_value=POINTS_MAX)
    comment = forms.CharField(label=_("Comment"), max_length=500, widget=forms.Textarea)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False)
