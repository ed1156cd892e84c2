from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from quanwang.core.models import RoleAssignment
from quanwang.core.navigation import items_for


def console(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {}
    return {
        "nav": items_for(user),
        "scopes": list(
            RoleAssignment.objects.filter(user_id=user.pk)
            .select_related("org_unit")
            .order_by("org_unit__path", "role")
        ),
        "active_scope_id": getattr(user, "quanwang_scope_id", None),
    }
