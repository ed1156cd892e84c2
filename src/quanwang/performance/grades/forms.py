"""Forms of performance.grades: the rules (a new version) and a decision on a move."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.core.forms import DayInput
from quanwang.performance.choices import PeriodKind
from quanwang.performance.grades.choices import GradeLevel
from quanwang.performance.grades.rules import ALL_POSITIONS, Position, Rules

_APPRAISAL_KINDS = [(k.value, k.label) for k in (PeriodKind.MONTH, PeriodKind.QUARTER)]


def coefficient_field(position: Position) -> str:
    return f"c_{position.key}"


class RuleSetForm(forms.Form):
    """A new version of the rules; thresholds are typed as percentages (110 = 110%)."""

    valid_from = forms.DateField(label=_("Valid from"), widget=DayInput())
    period_kind = forms.ChoiceField(label=_("Appraisal period"), choices=_APPRAISAL_KINDS)
    promote_at = forms.DecimalField(
        label=_("Promotion at a result of at least (%)"),
        min_value=0,
        max_value=1000,
        decimal_places=2,
    )
    promote_periods = forms.IntegerField(
        label=_("for this many consecutive periods"), min_value=1, max_value=8
    )
    promote_steps = forms.IntegerField(
        label=_("moves up this many steps"), min_value=1, max_value=10
    )
    demote_below = forms.DecimalField(
        label=_("Demotion at a result under (%)"), min_value=0, max_value=1000, decimal_places=2
    )
    demote_periods = forms.IntegerField(
        label=_("for this many consecutive periods"), min_value=1, max_value=8
    )
    demote_steps = forms.IntegerField(
        label=_("moves down this many steps"), min_value=1, max_value=10
    )
    lowest_level = forms.TypedChoiceField(
        label=_("Lowest grade: level"), coerce=int, choices=GradeLevel.choices
    )
    lowest_step = forms.IntegerField(label=_("Lowest grade: step"), min_value=1, max_value=10)
    highest_level = forms.TypedChoiceField(
        label=_("Highest grade: level"), coerce=int, choices=GradeLevel.choices
    )
    highest_step = forms.IntegerField(label=_("Highest grade: step"), min_value=1, max_value=10)
    note = forms.CharField(label=_("Why"), max_length=300, required=False)

    def __init__(self, *args: Any, rules: Rules, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "period_kind": rules.period_kind,
                "promote_at": rules.promote_at * 100,
                "promote_periods": rules.promote_periods,
                "promote_steps": rules.promote_steps,
                "demote_below": rules.demote_below * 100,
                "demote_periods": rules.demote_periods,
                "demote_steps": rules.demote_steps,
                "lowest_level": rules.lowest.level,
                "lowest_step": rules.lowest.step,
                "highest_level": rules.highest.level,
                "highest_step": rules.highest.step,
            }
            | {coefficient_field(p): rules.coefficient(p) for p in ALL_POSITIONS},
        )
        super().__init__(*args, **kwargs)
        for position in ALL_POSITIONS:
            self.fields[coefficient_field(position)] = forms.DecimalField(
                label=position.label, min_value=Decimal("0.01"), max_value=10, decimal_places=4
            )

    def coefficient_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The coefficient inputs as a table: one row a level, one column a step."""
        return [
            (str(level.label), [self[coefficient_field(Position(level, s))] for s in range(1, 11)])
            for level in GradeLevel
        ]

    def rules(self) -> Rules:
        data = self.cleaned_data
        return Rules(
            period_kind=PeriodKind(data["period_kind"]),
            promote_at=data["promote_at"] / 100,
            promote_periods=data["promote_periods"],
            promote_steps=data["promote_steps"],
            demote_below=data["demote_below"] / 100,
            demote_periods=data["demote_periods"],
            demote_steps=data["demote_steps"],
            lowest=Position(data["lowest_level"], data["lowest_step"]),
            highest=Position(data["highest_level"], data["highest_step"]),
            coefficients={p.key: data[coefficient_field(p)] for p in ALL_POSITIONS},
        )

    def add_service_error(self, field: str | None, message: str) -> None:
        """A refusal of the rules, on the input it names (the bounds' level fields)."""
        named = {"lowest": "lowest_level", "highest": "highest_level"}.get(field or "", field)
        self.add_error(named if named in self.fields else None, message)


class DecideForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("Decision"),
        coerce=lambda v: v == "1",
        choices=[("1", _("Approve")), ("0", _("Reject"))],
    )
    comment = forms.CharField(label=_("Comment"), max_length=300, required=False)


class PlaceForm(forms.Form):
    """Setting a staff member's grade by hand: the first placement (入职定级) or a correction."""

    level = forms.TypedChoiceField(label=_("Level"), coerce=int, choices=GradeLevel.choices)
    step = forms.IntegerField(label=_("Step on the ladder (1–10)"), min_value=1, max_value=10)
    # ISO, the one form a date input reads (the locale's format would leave it blank).
    effective_on = forms.DateField(
        label=_("Effective from"),
        widget=DayInput(),
    )
    reason = forms.CharField(label=_("Why"), max_length=300)
