"""The org scope a user with several role assignments works in."""

from __future__ import annotations

from typing import Any

from quanwang.core.errors import NotFound
from quanwang.core.models import RoleAssignment
from quanwang.core.querysets import forget_assignments


def choose_scope(*, user: Any, assignment_id: int | None) -> RoleAssignment | None:
    """Narrow the user to one of their own assignments, or None for all of them."""
    forget_assignments(user)
    user.quanwang_scope_id = None
    if assignment_id is None:
        return None
    assignment = RoleAssignment.objects.filter(user=user, pk=assignment_id).first()
    if assignment is None:
        raise NotFound()
    user.quanwang_scope_id = assignment.pk
    return assignment
