"""Console forms. They only parse input; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, OrgLevel, Resource
from quanwang.core.models import OrgUnit
from quanwang.core.services.audit import REASON_MAX_LENGTH
from quanwang.core.services.orgs import units_granting
from quanwang.core.tabular import CANDIDATE_ENCODINGS

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class DayInput(forms.DateInput):
    """The browser's date picker. Its value is ISO whatever the language: a zh-hans date
    (2024/12/31) would load blank, and a form opened to change a record would lose its days."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class OrgUnitCreateForm(forms.Form):
    parent = forms.ModelChoiceField(label=_("Parent"), queryset=OrgUnit.objects.none())
    code = forms.RegexField(
        label=_("Code"),
        max_length=32,
        regex=r"^[A-Za-z0-9_-]+$",
        error_messages={"invalid": _("Use letters, digits, '-' and '_' only.")},
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    level = forms.ChoiceField(label=_("Level"), choices=OrgLevel.choices)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["parent"]
        field.queryset = units_granting(user=user, resource=Resource.ORG_UNIT, action=Action.ADD)


class OrgUnitEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Recorded in the audit log with your name and the time."),
    )


class ExportForm(ReasonForm):
    full = forms.BooleanField(label=_("Include full personal data"), required=False)


class OrgImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        required=False,
        choices=[("", _("Detect")), *[(e, e) for e in CANDIDATE_ENCODINGS]],
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB."))
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError(_("Upload a .csv file."))
        return upload


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=366, initial=90)
