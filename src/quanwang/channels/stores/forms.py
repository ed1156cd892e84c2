"""Forms of the stores part. They only parse input; the rules live in services and rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.channels.choices import GradingCriterion, GridType, PartnerStage, SalesMeasure
from quanwang.channels.models import GradingRuleSet
from quanwang.channels.stores.grading import DEFAULT_LOCATION_POINTS, DEFAULT_RULES
from quanwang.channels.stores.rules import COVERAGE_MAX, GROWTH_MONTHS_MAX, POINTS_MAX
from quanwang.channels.stores.services import REASON_MAX_LENGTH


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("New stage"), choices=PartnerStage.choices)
    reason = forms.CharField(
        label=_("Why"),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Kept in the stage's history with your name and the time."),
    )


def _points(label: Any, initial: int) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=POINTS_MAX, initial=initial)


class RuleSetForm(forms.Form):
    """A new version of the grading rules; starts from the version in force."""

    sales_measure = forms.ChoiceField(label=_("Sales measured by"), choices=SalesMeasure.choices)
    weight_sales = _points(_("Weight of sales (%)"), DEFAULT_RULES.weights[GradingCriterion.SALES])
    weight_footfall = _points(
        _("Weight of footfall (%)"), DEFAULT_RULES.weights[GradingCriterion.FOOTFALL]
    )
    weight_conversion = _points(
        _("Weight of conversion (%)"), DEFAULT_RULES.weights[GradingCriterion.CONVERSION]
    )
    weight_location = _points(
        _("Weight of location (%)"), DEFAULT_RULES.weights[GradingCriterion.LOCATION]
    )
    weight_growth = _points(
        _("Weight of growth (%)"), DEFAULT_RULES.weights[GradingCriterion.GROWTH]
    )
    key_min = _points(_("Key store from score"), DEFAULT_RULES.key_min)
    anchor_min = _points(_("Anchor store from score"), DEFAULT_RULES.anchor_min)
    growth_months = forms.IntegerField(
        label=_("Growth against the average of the months before"),
        min_value=1,
        max_value=GROWTH_MONTHS_MAX,
        initial=DEFAULT_RULES.growth_months,
    )
    location_default = _points(_("Location points of other grids"), DEFAULT_RULES.location_default)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, current: GradingRuleSet | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One field per grid type, named by its position (the types are Chinese words).
        for i, grid_type in enumerate(GridType):
            self.fields[f"location_{i}"] = _points(
                _("Location points of %(type)s grids") % {"type": grid_type.label},
                DEFAULT_LOCATION_POINTS.get(str(grid_type), 0),
            )
        if current is not None and not self.is_bound:
            for name in self.fields:
                if hasattr(current, name):
                    self.fields[name].initial = getattr(current, name)
            for i, grid_type in enumerate(GridType):
                held = (current.location_points or {}).get(str(grid_type))
                if held is not None:
                    self.fields[f"location_{i}"].initial = held


class CoverageTargetForm(forms.Form):
    grid_type = forms.ChoiceField(label=_("Grid type"), choices=GridType.choices)
    key_min = forms.IntegerField(
        label=_("Key stores at least"), min_value=0, max_value=COVERAGE_MAX
    )
    anchor_min = forms.IntegerField(
        label=_("Anchor stores at least"), min_value=0, max_value=COVERAGE_MAX
    )
    small_min = forms.IntegerField(
        label=_("Small stores at least"), min_value=0, max_value=COVERAGE_MAX
    )


class RegradeForm(forms.Form):
    month = forms.RegexField(
        label=_("Month"),
        regex=r"^\d{4}-\d{2}$",
        max_length=7,
        error_messages={"invalid": _("Write the month like 2024-06.")},
    )
