"""What the commissions part adds to pages other parts own: the store page (channels.stores), the
grid page (channels.scorecards) and the partner's own page (channels.visits). Each function
returns the context of its template (channels/commissions/_<page>_section.html), or None to add
nothing."""

from __future__ import annotations

from typing import Any

from quanwang.channels.models import Store
from quanwang.core.models import OrgUnit


def store_section(*, store: Store, user: Any, month: str | None) -> dict[str, Any] | None:
    return None


def grid_section(*, grid: OrgUnit, user: Any, month: str | None) -> dict[str, Any] | None:
    return None


def partner_section(*, stores: list[Store], user: Any) -> dict[str, Any] | None:
    return None
