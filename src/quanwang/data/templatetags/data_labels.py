"""Template filters for the canonical tables (`data.labels`).

{% load data_labels %}
{{ table|label }}                     套餐 (Plans in English); {{ "plans"|label }} the same
{{ column|type_label }}               金额（元）
{{ profile.status|value_label:"status" }}   在网
"""

from __future__ import annotations

from typing import Any

from django import template

from quanwang.data import labels
from quanwang.data.schema import TABLES

register = template.Library()


@register.filter
def label(item: Any) -> str:
    """A table's or a column's label; a table may be given by its name."""
    if isinstance(item, str):
        table = TABLES.get(item)
        return labels.label(table) if table is not None else item
    return labels.label(item)


@register.filter
def type_label(column: Any) -> str:
    return labels.type_label(column)


@register.filter
def value_label(value: Any, column: str) -> str:
    return labels.value_label(column, value)
