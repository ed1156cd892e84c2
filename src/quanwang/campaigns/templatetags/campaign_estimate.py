"""Template filters of a campaign's revenue estimate (`estimate_text`).

{% load campaign_estimate %}
{% for a in campaign.estimate|assumptions %}{{ a.label }} {{ a.value }} {{ a.source }}{% endfor %}
{{ campaign.estimate|expected_net }}     the expected net revenue, or None
{% if campaign.estimate|loses_money %}   the estimate expects a loss
{{ uplift.source_snapshot|snapshot_month }}   "2024-06 · 20240701T…-ab12cd" → "2024-06"
"""

from __future__ import annotations

from typing import Any

from django import template

from quanwang.campaigns import estimate, estimate_text

register = template.Library()


@register.filter
def assumptions(value: Any) -> list[estimate_text.ShownAssumption]:
    return estimate_text.shown_assumptions(value if isinstance(value, dict) else None)


@register.filter
def expected_net(value: Any) -> float | None:
    return estimate.expected_net(value if isinstance(value, dict) else None)


@register.filter
def loses_money(value: Any) -> bool:
    return estimate.loses_money(value if isinstance(value, dict) else None)


@register.filter
def snapshot_month(value: Any) -> str:
    """A snapshot's label (month · run ID) as its month: the run ID means nothing to a user."""
    return str(value or "").split(" · ", 1)[0].strip()


@register.filter
def share(value: Any) -> str:
    """A share as a percentage with no needless decimals: 0.100 → 10%, 0.125 → 12.5%."""
    return estimate_text.share(value)
