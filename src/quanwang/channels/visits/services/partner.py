"""The partner's own view (合作伙伴视图): a partner's login reaches the stores it is a partner
of (Store.partners, Reach.OWN) and nothing else; another store is not found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
from django.db.models import QuerySet

from quanwang.channels.models import Store
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.querysets import has_grant
from quanwang.data.warehouse import Warehouse

#: Months of sales shown on the partner's page, the newest first.
SALES_MONTHS = 6


def partner_stores(*, user: Any) -> QuerySet[Store]:
    """The stores `user` is a partner of and may read: none for a login that is no partner."""
    if not user.is_authenticated:
        return Store.objects.none()
    readable = Store.objects.restrict(user, Action.VIEW).values("pk")
    return (
        Store.objects.filter(pk__in=readable, partners=user)
        .select_related("org_unit")
        .order_by("store_id")
    )


def partner_store(*, user: Any, store_pk: int) -> Store:
    store = partner_stores(user=user).filter(pk=store_pk).first()
    if store is None:
        raise NotFound()
    return store


def may_raise_issues(user: Any) -> bool:
    return has_grant(user, resource=Resource.PARTNER_ISSUE, action=Action.ADD)


@dataclass(frozen=True)
class SalesMonth:
    month: str
    units: int
    revenue: float


def store_sales(*, store_id: str, months: int = SALES_MONTHS) -> list[SalesMonth]:
    """The store's sales of its last `months` months in the warehouse (store_sales), newest
    first: units and revenue over all products."""
    relation = Warehouse().relation("store_sales")
    rows = (
        duckdb.connect()
        .execute(
            f"""SELECT month, coalesce(sum(units), 0), coalesce(sum(revenue), 0)
                FROM {relation} WHERE store_id = ? GROUP BY month
                ORDER BY month DESC LIMIT ?""",
            [store_id, months],
        )
        .fetchall()
    )
    return [SalesMonth(str(m), int(u), float(r)) for m, u, r in rows]
