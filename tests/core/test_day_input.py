"""Every date picker of the console loads its day in Chinese: the browser's date input reads
ISO only, and zh-hans writes 2024/12/31 (such a form opened to change a record showed blanks)."""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
from django import forms
from django.utils import translation

from quanwang.core.forms import DayInput

FORM_MODULES = (
    "quanwang.campaigns.forms",
    "quanwang.campaigns.offer_forms",
    "quanwang.channels.commissions.forms",
    "quanwang.channels.visits.forms",
    "quanwang.enterprise.persons.forms",
    "quanwang.enterprise.work.forms",
    "quanwang.performance.grades.forms",
)


def test_a_day_input_holds_an_iso_day_in_chinese() -> None:
    # given a form whose day is set, shown in Chinese
    class Form(forms.Form):
        day = forms.DateField(widget=DayInput())

    with translation.override("zh-hans"):
        html = str(Form(initial={"day": dt.date(2024, 12, 31)})["day"])
    # then the picker holds the ISO day
    assert 'type="date"' in html
    assert 'value="2024-12-31"' in html


@pytest.mark.parametrize("module", FORM_MODULES)
def test_every_date_field_of_the_console_uses_the_day_input(module: str) -> None:
    # given every form class of the module
    found = importlib.import_module(module)
    fields = [
        (name, field)
        for form in vars(found).values()
        if isinstance(form, type) and issubclass(form, forms.BaseForm)
        for name, field in form.base_fields.items()
        if isinstance(field, forms.DateField)
    ]
    # then each date field shows a DayInput
    assert fields, module
    assert [name for name, field in fields if not isinstance(field.widget, DayInput)] == []


def test_no_date_input_is_written_by_hand() -> None:
    # a plain `type="date"` widget in a form module would bring the blank pickers back
    from pathlib import Path

    import quanwang

    root = Path(quanwang.__file__).parent
    hand_written = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "forms.py" or path.parent.name != "core"
        if re.search(r"DateInput\(", path.read_text(encoding="utf-8"))
    ]
    assert hand_written == []
