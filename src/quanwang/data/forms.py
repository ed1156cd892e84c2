from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from quanwang.core.forms import MAX_UPLOAD_BYTES
from quanwang.core.tabular import CANDIDATE_ENCODINGS
from quanwang.data.labels import label, lazy_label
from quanwang.data.models import ImportMapping
from quanwang.data.schema import TABLES, Table
from quanwang.data.sources import ReadOptions

# GeoJSON: grid boundaries (a FeatureCollection, read by data.sources as rows of `grids`).
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet", ".geojson", ".json")


def _format_codes(text: Any, *keys: str) -> SafeString:
    return format_html(
        str(text), **{k: format_html("<code>{}</code>", k.rstrip("_")) for k in keys}
    )


# A translated text with the words a user types as they are (JSON keys, `all`) in <code>,
# put together when it is shown.
_with_codes = lazy(_format_codes, SafeString)


class MappingChoiceField(forms.ModelChoiceField):
    """A saved mapping by its ID: two orgs in one scope may use the same name."""

    def label_from_instance(self, obj: Any) -> str:
        unit = obj.org_unit.name if obj.org_unit is not None else ""
        return f"{obj.name} · {unit}" if unit else str(obj.name)


class TableImportForm(forms.Form):
    """The upload form, offering only the tables the user may import (`tables`)."""

    table = forms.ChoiceField(label=_("Table"))
    file = forms.FileField(label=_("File (CSV, XLSX, XLS or Parquet)"))
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        required=False,
        choices=[("", _("Detect")), *[(e, e) for e in CANDIDATE_ENCODINGS]],
    )
    delimiter = forms.ChoiceField(
        label=_("Separator"),
        required=False,
        choices=[
            ("", _("Detect")),
            ("comma", _("Comma")),
            ("tab", _("Tab")),
            ("semicolon", _("Semicolon")),
            ("pipe", _("Vertical bar")),
        ],
    )
    sheet = forms.CharField(
        label=_("Sheet"),
        required=False,
        max_length=100,
        help_text=_with_codes(
            _("A workbook with data on several sheets: the sheet's name, or {all}."), "all"
        ),
    )
    header_row = forms.IntegerField(
        label=_("Header row"),
        required=False,
        min_value=1,
        max_value=1000,
        help_text=_("The row holding the column names; found if left empty."),
    )
    allow_empty = forms.BooleanField(
        label=_("Allow a file with no good row to empty the table"), required=False
    )
    confirm_replace = forms.BooleanField(
        label=_("Confirm a replace that drops most of the table's rows"), required=False
    )
    mapping = MappingChoiceField(
        label=_("Column mapping"),
        required=False,
        queryset=ImportMapping.objects.none(),
        empty_label=_("None: columns named as in the table"),
    )

    def __init__(self, *args: Any, mappings: Any, tables: list[Table], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table: Any = self.fields["table"]
        table.choices = [(t.name, label(t)) for t in tables]
        field: Any = self.fields["mapping"]
        field.queryset = mappings.select_related("org_unit")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB; use the CLI."))
        if not upload.name.lower().endswith(SUFFIXES):
            raise forms.ValidationError(_("Upload a .csv, .xlsx, .parquet or .geojson file."))
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mapping = data.get("mapping")
        if mapping is not None and mapping.table != data.get("table"):
            self.add_error("mapping", _("This mapping is for another table."))
        return data

    def read_options(self) -> ReadOptions:
        data = self.cleaned_data
        return ReadOptions.from_params(
            encoding=data.get("encoding") or None,
            delimiter=data.get("delimiter") or None,
            sheet=(data.get("sheet") or "").strip() or None,
            header_row=data.get("header_row"),
        )


MAPPING_EXAMPLE = """{"columns": {
  "subscriber_id": {"from": "customerID"},
  "status": {"from": "Churn", "map": {"Yes": "churned", "No": "active"}},
  "payment_type": {"const": "postpaid"}
}}"""


class ExampleJSONField(forms.JSONField):
    """A JSON box left empty when there is no value yet, so that its placeholder (an example)
    shows: Django's own writes `null` into it."""

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""
        return super().prepare_value(value)


class MappingForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    # Labels in the page's language, read when the form is shown.
    table = forms.ChoiceField(
        label=_("Table"), choices=[(t.name, lazy_label(t)) for t in TABLES.values()]
    )
    spec = ExampleJSONField(
        label=_("Mapping (JSON)"),
        # The example is JSON, not prose: translate="no" says so to readers and to tools.
        widget=forms.Textarea(
            attrs={"rows": 14, "class": "code", "placeholder": MAPPING_EXAMPLE, "translate": "no"}
        ),
        help_text=_with_codes(
            _(
                "For each table column: {from_} (a file column, optionally with {map} of "
                "values and {unit} yuan/fen), {const} (a fixed value) or {expr} (an "
                "expression over file columns)."
            ),
            "from_",
            "map",
            "unit",
            "const",
            "expr",
        ),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["name"].disabled = True

    def clean_name(self) -> str:
        # Whether the name is taken is the service's to say, and only within the user's own
        # unit: other orgs' names are none of the form's business.
        return str(self.cleaned_data["name"]).strip()
