"""What the commissions part adds to pages other parts own: the store page (channels.stores),
the grid page (channels.scorecards) and the partner's own page (channels.visits). Each function
returns the context of its template (channels/commissions/_<page>_section.html), or None to add
nothing (the user may not read statements)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from quanwang.channels.commissions.choices import StatementStatus
from quanwang.channels.models import CommissionStatement, Store
from quanwang.core.choices import Action, Resource
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import has_grant

RECENT = 6
PARTNER_RECENT = 12


def _readable(user: Any) -> bool:
    return has_grant(user, resource=Resource.COMMISSION, action=Action.VIEW)


def store_section(*, store: Store, user: Any, month: str | None) -> dict[str, Any] | None:
    """The store's recent statements (the newest first), up to `month` when one is chosen."""
    if not _readable(user):
        return None
    statements = CommissionStatement.objects.restrict(user).filter(store=store)
    if month:
        statements = statements.filter(month__lte=month)
    return {"store": store, "statements": list(statements.order_by("-month")[:RECENT])}


def grid_section(*, grid: OrgUnit, user: Any, month: str | None) -> dict[str, Any] | None:
    """The month's statements of the grid's stores: how many, approved, and their total."""
    if not _readable(user) or not month:
        return None
    statements = CommissionStatement.objects.restrict(user).filter(
        month=month, store__org_unit__path__startswith=grid.path
    )
    figures = statements.aggregate(count=Count("pk"), total=Sum("total"))
    approved = statements.filter(status=StatementStatus.APPROVED).aggregate(
        count=Count("pk"), total=Sum("total")
    )
    return {
        "grid": grid,
        "month": month,
        "count": figures["count"],
        "total": figures["total"] or Decimal(0),
        "approved_count": approved["count"],
        "approved_total": approved["total"] or Decimal(0),
    }


def partner_section(*, stores: list[Store], user: Any) -> dict[str, Any] | None:
    """The partner's statements of these stores, the newest first."""
    if not _readable(user):
        return None
    statements = (
        CommissionStatement.objects.restrict(user)
        .filter(store__in=stores)
        .select_related("store")
        .order_by("-month", "store__store_id")
    )
    return {"statements": list(statements[:PARTNER_RECENT])}
