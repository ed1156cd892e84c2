"""The custom KPI form (the checks live in custom.check_definition)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.core.errors import ServiceError
from quanwang.data.labels import label
from quanwang.data.schema import TABLES
from quanwang.performance.choices import Aggregation, Direction, OverTime
from quanwang.performance.kpis.choices import Measure
from quanwang.performance.kpis.custom import CUSTOM_TABLES

_BLANK = [("", "—")]


def _tables() -> list[tuple[str, str]]:
    return [
        (t.value, label(TABLES[t.value]) if t.value in TABLES else _("Customer wide table"))
        for t in CUSTOM_TABLES
    ]


class CustomKpiForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=40)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80)
    unit = forms.CharField(label=gettext_lazy("Unit"), max_length=20, required=False)
    direction = forms.ChoiceField(label=gettext_lazy("Direction"), choices=Direction.choices)
    aggregation = forms.ChoiceField(label=gettext_lazy("Aggregation"), choices=Aggregation.choices)
    over_time = forms.ChoiceField(label=gettext_lazy("Over time"), choices=OverTime.choices)
    # The tables by their names in the console's language (the wide table has no Table).
    table = forms.ChoiceField(label=gettext_lazy("Fact table"), choices=lambda: _tables())
    measure = forms.ChoiceField(label=gettext_lazy("Measure"), choices=Measure.choices)
    column = forms.CharField(label=gettext_lazy("Measure column"), max_length=60, required=False)
    filters = forms.CharField(
        label=gettext_lazy("Filters (JSON)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    denominator_measure = forms.ChoiceField(
        label=gettext_lazy("Denominator measure"),
        choices=_BLANK + list(Measure.choices),
        required=False,
    )
    denominator_column = forms.CharField(
        label=gettext_lazy("Denominator column"), max_length=60, required=False
    )
    denominator_filters = forms.CharField(
        label=gettext_lazy("Denominator filters (JSON)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    description = forms.CharField(
        label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    decimals = forms.IntegerField(
        label=gettext_lazy("Decimals"), min_value=0, max_value=6, initial=0
    )

    def _json_list(self, name: str) -> list[Any]:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return []
        try:
            found = json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("Write the filters as a JSON list.")) from None
        if not isinstance(found, list):
            raise forms.ValidationError(_("Write the filters as a JSON list."))
        return found

    def clean_filters(self) -> list[Any]:
        return self._json_list("filters")

    def clean_denominator_filters(self) -> list[Any]:
        return self._json_list("denominator_filters")

    def definition(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.fields}

    def add_service_error(self, error: ServiceError) -> None:
        where = (error.field or "").split("[")[0]
        self.add_error(where if where in self.fields else None, error.message)
