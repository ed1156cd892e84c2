"""What the console shows for the canonical tables: their names and their columns' in the
language of the page (the schema's Chinese label in zh-hans, its English one otherwise), the
columns' types, and the coded values the warehouse keeps in English (status `active`,
payment type `prepaid`...) by their label.

The codes stay what the files and the warehouse hold; only what a page shows changes.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise, lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import OrgLevel
from quanwang.data.schema import Column, ColumnType, Table

TYPE_LABELS: dict[str, Promise] = {
    ColumnType.STRING: _("Text"),
    ColumnType.INT: _("Whole number"),
    ColumnType.FLOAT: _("Decimal number"),
    ColumnType.MONEY: _("Amount in yuan"),
    ColumnType.DATE: _("Date"),
    ColumnType.BOOL: _("Yes or no"),
}

# The coded values of the canonical columns that are English words, by column name (the same
# codes mean the same in every table that has the column).
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "status": {
        "active": _("Active"),
        "suspended": _("Suspended"),
        "churned": _("Churned"),
    },
    "payment_type": {"prepaid": _("Prepaid"), "postpaid": _("Postpaid")},
    "plan_type": {
        "prepaid": _("Prepaid"),
        "postpaid": _("Postpaid"),
        "broadband": _("Broadband"),
        "iptv": _("IPTV"),
        "bundle": _("Converged bundle"),
    },
    "dual_sim_role": {
        "single": _("Single SIM"),
        "primary": _("Primary card"),
        "secondary": _("Secondary card"),
    },
    "level": {str(level): level.label for level in OrgLevel},
}


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def label(item: Table | Column) -> str:
    """A table's or a column's label in the page's language."""
    return item.zh if _chinese() else item.en


def type_label(column: Column) -> str:
    return str(TYPE_LABELS.get(column.type, column.type))


def value_label(column: str, value: Any) -> str:
    """A coded value of `column` by its label; other values (already Chinese, or data) as
    they are, and a missing one as empty."""
    if value is None:
        return ""
    return str(VALUE_LABELS.get(column, {}).get(str(value), value))


#: `label` evaluated when shown: for choices built once, at import.
lazy_label = lazy(label, str)
