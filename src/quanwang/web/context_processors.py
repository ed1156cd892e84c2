from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from quanwang.campaigns.todos import todos
from quanwang.core.choices import Action, Resource
from quanwang.core.models import RoleAssignment
from quanwang.core.navigation import items_for
from quanwang.core.querysets import has_grant


def console(request: HttpRequest) -> dict[str, Any]:
    # An error page may be rendered before the authentication middleware ran (a refused Host
    # header): no user then, and no navigation.
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    may_have_todos = has_grant(
        user, resource=Resource.CAMPAIGN, action=Action.APPROVE
    ) or has_grant(user, resource=Resource.OPT_OUT_REVIEW, action=Action.CHANGE)
    return {
        "nav": items_for(user),
        "scopes": list(
            RoleAssignment.objects.filter(user_id=user.pk)
            .select_related("org_unit")
            .order_by("org_unit__path", "role")
        ),
        "active_scope_id": getattr(user, "quanwang_scope_id", None),
        # The to-do badge of the navigation: None for those who never have any.
        "todo_count": todos(user=user).total if may_have_todos else None,
    }
