"""Forms of the page that evaluates an experiment from a file (评估实验文件)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.experiments import ExperimentDesign, FileSummary

SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".parquet")
# Words an arm column's name often holds; the first such column is offered first.
ARM_WORDS = ("group", "arm", "treatment", "variant", "segment", "cell", "分组", "组别", "组")


def default_group(arm_values: dict[str, list[str]], summary: FileSummary) -> str | None:
    """The column most likely to name the arms: one whose name says so, else the first text
    column that can (a number column is more often an outcome), else the first that can."""
    numeric = {c.name for c in summary.columns if c.numeric}
    for matches in (str.__eq__, str.__contains__):  # `segment` before `history_segment`
        for word in ARM_WORDS:
            for name in arm_values:
                if matches(name.lower(), word):
                    return name
    text = [name for name in arm_values if name not in numeric]
    candidates = text or list(arm_values)
    return candidates[0] if candidates else None


class ExperimentUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Experiment file (CSV, XLSX, Parquet)"),
        help_text=_("One row per customer: the arm, yes/no outcomes (0/1) and amounts."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if Path(upload.name or "").suffix.lower() not in SUFFIXES:
            raise forms.ValidationError(_("Use a .csv, .xlsx or .parquet file."))
        return upload


class ExperimentDesignForm(forms.Form):
    """The arm column, its two compared values, and the outcomes. The arm choices are the
    values of the chosen column (`group`, else `default_group`); the page swaps them in when
    the column changes, or, without scripts, after a submit with another column."""

    group = forms.ChoiceField(label=_("Arm column"))
    treated = forms.ChoiceField(label=_("Treated arm"))
    control = forms.ChoiceField(label=_("Control arm"))
    outcomes = forms.MultipleChoiceField(
        label=_("Yes/no outcomes (0/1), compared by rate"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    revenue = forms.MultipleChoiceField(
        label=_("Amounts (e.g. spend), compared by mean"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, *args: Any, summary: FileSummary, group: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.summary = summary
        # A column can name arms when it has 2 or more values, all listed.
        self.arm_values = {c.name: c.values for c in summary.columns if len(c.values) >= 2}
        group = group if group in self.arm_values else default_group(self.arm_values, summary)
        fields: dict[str, Any] = dict(self.fields)  # ChoiceFields: `choices` can be set
        fields["group"].choices = [(name, name) for name in self.arm_values]
        arms = [(value, value) for value in self.arm_values.get(group or "", [])]
        self.initial["group"] = group
        fields["treated"].choices = arms
        fields["control"].choices = arms
        numeric = [(c.name, c.name) for c in summary.columns if c.numeric]
        fields["outcomes"].choices = numeric
        fields["revenue"].choices = numeric

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        group = data.get("group")
        if not group:
            return data
        for name in ("treated", "control"):
            if data.get(name) and data[name] not in self.arm_values[group]:
                self.add_error(
                    name,
                    _("“%(value)s” is not a value of the column %(column)s.")
                    % {"value": data[name], "column": group},
                )
        if data.get("treated") and data.get("treated") == data.get("control"):
            self.add_error(
                "control", _("The treated and control arms must be two different values.")
            )
        outcomes, revenue = data.get("outcomes") or [], data.get("revenue") or []
        if not outcomes and not revenue:
            self.add_error(None, _("Choose at least one outcome or amount."))
        both = sorted(set(outcomes) & set(revenue))
        if both:
            self.add_error(
                "revenue",
                _("%(columns)s cannot be both a yes/no outcome and an amount.")
                % {"columns": ", ".join(both)},
            )
        if group in outcomes or group in revenue:
            self.add_error("group", _("The arm column cannot be an outcome too."))
        return data

    def design(self) -> ExperimentDesign:
        data = self.cleaned_data
        return ExperimentDesign(
            group=data["group"],
            treated=data["treated"],
            control=data["control"],
            outcomes=tuple(data["outcomes"]),
            revenue=tuple(data["revenue"]),
        )
