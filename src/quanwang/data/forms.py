from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from quanwang.core.forms import MAX_UPLOAD_BYTES
from quanwang.core.tabular import CANDIDATE_ENCODINGS
from quanwang.data.models import ImportMapping
from quanwang.data.schema import TABLES

SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".parquet")


class TableImportForm(forms.Form):
    table = forms.ChoiceField(
        label=_("Table"), choices=[(t.name, f"{t.zh} · {t.en}") for t in TABLES.values()]
    )
    file = forms.FileField(label=_("File (CSV, XLSX or Parquet)"))
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        required=False,
        choices=[("", _("Detect")), *[(e, e) for e in CANDIDATE_ENCODINGS]],
    )
    mapping = forms.ModelChoiceField(
        label=_("Column mapping"),
        required=False,
        queryset=ImportMapping.objects.none(),
        to_field_name="name",
        empty_label=_("None: columns named as in the table"),
    )

    def __init__(self, *args: Any, mappings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["mapping"]
        field.queryset = mappings

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB; use the CLI."))
        if not upload.name.lower().endswith(SUFFIXES):
            raise forms.ValidationError(_("Upload a .csv, .xlsx or .parquet file."))
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mapping = data.get("mapping")
        if mapping is not None and mapping.table != data.get("table"):
            self.add_error("mapping", _("This mapping is for another table."))
        return data


MAPPING_EXAMPLE = """{"columns": {
  "subscriber_id": {"from": "customerID"},
  "status": {"from": "Churn", "map": {"Yes": "churned", "No": "active"}},
  "payment_type": {"const": "postpaid"}
}}"""


class MappingForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    table = forms.ChoiceField(
        label=_("Table"), choices=[(t.name, f"{t.zh} · {t.en}") for t in TABLES.values()]
    )
    spec = forms.JSONField(
        label=_("Mapping (JSON)"),
        widget=forms.Textarea(attrs={"rows": 14, "class": "code", "placeholder": MAPPING_EXAMPLE}),
        help_text=_(
            "For each table column: from (a file column, optionally with map of values and "
            "unit yuan/fen), const (a fixed value) or expr (an expression over file columns)."
        ),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["name"].disabled = True

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not self.fields["name"].disabled and ImportMapping.objects.filter(name=name).exists():
            raise forms.ValidationError(_("A mapping with this name exists; edit it instead."))
        return name
