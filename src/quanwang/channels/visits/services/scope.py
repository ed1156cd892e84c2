"""What of the visits part a user reaches: the stores they may visit, raise issues for or read,
and the records hanging off those stores. Everything goes through the one permission table."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import QuerySet

from quanwang.channels.models import Store
from quanwang.core.choices import Action, PiiKind, Resource
from quanwang.core.masking import mask
from quanwang.core.querysets import scope_filter

M = TypeVar("M", bound=models.Model)


def stores_for(*, user: Any, resource: Resource, action: Action) -> QuerySet[Store]:
    """The stores on which `user` may `action` records of `resource` (a visit, an issue):
    their subtree's stores for staff, the stores they are a partner of for a partner."""
    q = scope_filter(
        user,
        resource=resource,
        action=action,
        org_path_field="org_unit__path",
        owner_field="partners",
    )
    if q is None:
        return Store.objects.all()
    # A subquery, so that the join through the partners never repeats a store.
    return Store.objects.filter(pk__in=Store.objects.filter(q).values("pk"))


def visible(model: type[M], *, user: Any, action: Action = Action.VIEW) -> QuerySet[M]:
    """`model.objects.restrict(user, action)`, each record once whatever the joins."""
    manager: Any = model._default_manager
    restricted = manager.restrict(user, action)
    return manager.filter(pk__in=restricted.values("pk"))


def person(user: Any) -> str:
    """Who a login is, for a page: their staff record's name, masked as personal data is by
    default (刘**); the login name where there is no staff record."""
    if user is None:
        return ""
    try:
        staff = user.staff
    except models.ObjectDoesNotExist:
        staff = None
    if staff is not None and staff.name:
        return mask(staff.name, PiiKind.NAME)
    return str(user.get_username())
