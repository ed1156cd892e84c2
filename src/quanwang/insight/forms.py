from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.insight.choices import Engine


class PipelineForm(forms.Form):
    month = forms.RegexField(
        label=_("Snapshot month"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        max_length=7,
        error_messages={"invalid": _("Write the month like 2024-06.")},
    )
    engine = forms.ChoiceField(label=_("Engine"), choices=Engine.choices, initial=Engine.DUCKDB)
