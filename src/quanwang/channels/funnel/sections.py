"""What the funnel part adds to pages other parts own: the store page (channels.stores), the
grid page (channels.scorecards) and the partner's own page (channels.visits). Each function
returns the context of its template (channels/funnel/_<page>_section.html), or None to add
nothing (no store traffic has been imported yet).

The caller has already checked that the user may see the store or the grid."""

from __future__ import annotations

from typing import Any

from quanwang.channels.funnel.services.kept import current_funnels
from quanwang.channels.funnel.services.read import grid_month, store_month
from quanwang.channels.models import Store
from quanwang.core.models import OrgUnit
from quanwang.insight.months import MONTH


def _month(month: str | None) -> str | None:
    return month if month and MONTH.match(month) else None


def store_section(*, store: Store, user: Any, month: str | None) -> dict[str, Any] | None:
    funnels = current_funnels()
    if funnels is None or not funnels.months:
        return None
    found = store_month(funnels, store.store_id, _month(month))
    return {
        "funnel": found,
        "funnel_key": f"store-{store.pk}",
        "asked_month": _month(month),
        "grid_code": store.grid_id,
    }


def grid_section(*, grid: OrgUnit, user: Any, month: str | None) -> dict[str, Any] | None:
    funnels = current_funnels()
    if funnels is None or not funnels.months:
        return None
    return {
        "funnel": grid_month(funnels, grid.code, _month(month)),
        "funnel_key": f"grid-{grid.pk}",
        "asked_month": _month(month),
        "grid_code": grid.code,
    }


def partner_section(*, stores: list[Store], user: Any) -> dict[str, Any] | None:
    funnels = current_funnels()
    if funnels is None or not funnels.months or not stores:
        return None
    return {
        "funnels": [
            {"store": s, "funnel": store_month(funnels, s.store_id, None), "key": f"store-{s.pk}"}
            for s in stores
        ]
    }
