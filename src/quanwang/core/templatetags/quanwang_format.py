"""Template filters for money, counts, shares and names (`core.formatting`).

{% load quanwang_format %}
{{ campaign.budget|money }}        1,234.50 元, or 12.3 万元 from 100,000 元 on
{{ campaign.budget|yuan }}         always in 元
{{ revenue|wan_yuan }}             always in 万元
{{ customers|count }}              12,345
{{ rate|percent }}                 12.3%      ({{ rate|percent:2 }}: 12.34%)
{{ change|points }}                +1.2       (percentage points)
{{ unit|named }}                   <span title="GD-GZ-TH-001">天河一网格</span>
{{ grid_id|named_code:grid_names }}  the same from a code and a {code: name} mapping
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from quanwang.core import formatting

register = template.Library()


@register.filter
def money(value: Any) -> SafeString | str:
    return formatting.money(value)


@register.filter
def yuan(value: Any) -> str:
    return formatting.yuan(value)


@register.filter
def wan_yuan(value: Any) -> str:
    return formatting.wan_yuan(value)


@register.filter
def count(value: Any) -> str:
    return formatting.count(value)


@register.filter
def percent(value: Any, places: int = 1) -> str:
    return formatting.percent(value, int(places))


@register.filter
def points(value: Any, places: int = 1) -> str:
    return formatting.points(value, int(places))


@register.filter
def named(value: Any) -> SafeString | str:
    """An org unit (or anything with `name` and `code`, or such a mapping) by its name, the
    code on hover; the English name, where there is one, in English."""
    if value is None:
        return formatting.MISSING
    if isinstance(value, Mapping):
        name, code = value.get("name"), value.get("code")
    else:
        name, code = getattr(value, "name", None), getattr(value, "code", None)
        english = getattr(value, "name_en", "")
        if english and not (get_language() or "").startswith("zh"):
            name = english
    return formatting.named(name and str(name), code and str(code))


@register.filter
def named_code(code: Any, names: Mapping[str, str] | None) -> SafeString | str:
    return formatting.named_code(code and str(code), names)
