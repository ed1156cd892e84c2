"""Org scoping in one place: `restrict(user, action)` narrows any business queryset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.db import models
from django.db.models import Q

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.permissions import reach

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from quanwang.core.models import RoleAssignment


def active_assignments(user: AbstractBaseUser | AnonymousUser) -> list[RoleAssignment]:
    """The role assignments in force for this user now: all of them, or the chosen scope."""
    if not user.is_authenticated:
        return []
    cached: list[RoleAssignment] | None = getattr(user, "_quanwang_assignments", None)
    if cached is not None:
        return cached
    from quanwang.core.models import RoleAssignment

    assignments = RoleAssignment.objects.filter(user_id=user.pk).select_related("org_unit")
    scope_id = getattr(user, "quanwang_scope_id", None)
    if scope_id is not None:
        assignments = assignments.filter(pk=scope_id)
    result = list(assignments.order_by("org_unit__path", "role"))
    setattr(user, "_quanwang_assignments", result)  # noqa: B010 (per-request cache)
    return result


def forget_assignments(user: Any) -> None:
    if hasattr(user, "_quanwang_assignments"):
        del user._quanwang_assignments


def scope_filter(
    user: AbstractBaseUser | AnonymousUser,
    *,
    resource: Resource,
    action: Action,
    org_path_field: str | None,
    owner_field: str | None,
) -> Q | None:
    """The Q that selects what `user` may `action` on `resource`; None means everything."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if getattr(user, "is_superuser", False):
        return None
    q = Q(pk__in=[])
    for assignment in active_assignments(user):
        grant = reach(role=assignment.role, resource=resource, action=action)
        if grant is None:
            continue
        if grant is Reach.SUBTREE and org_path_field:
            q |= Q(**{f"{org_path_field}__startswith": assignment.org_unit.path})
        elif owner_field:
            q |= Q(**{owner_field: user.pk})
    return q


class RestrictedQuerySet(models.QuerySet):
    """A queryset whose model declares how it is scoped.

    The model sets `scope_resource`, and `scope_org_path` (the lookup to its org unit's path)
    and/or `scope_owner` (the lookup to the user who owns it).
    """

    def restrict(
        self, user: AbstractBaseUser | AnonymousUser, action: Action = Action.VIEW
    ) -> Self:
        model: Any = self.model
        q = scope_filter(
            user,
            resource=model.scope_resource,
            action=action,
            org_path_field=getattr(model, "scope_org_path", None),
            owner_field=getattr(model, "scope_owner", None),
        )
        return self if q is None else self.filter(q)


class ScopedModel(models.Model):
    """Mixin declaring the scoping hooks `RestrictedQuerySet` reads."""

    scope_resource: ClassVar[Resource]
    scope_org_path: ClassVar[str | None] = None
    scope_owner: ClassVar[str | None] = None

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        abstract = True


def has_grant(
    user: AbstractBaseUser | AnonymousUser,
    *,
    resource: Resource,
    action: Action,
    only: Reach | None = None,
) -> bool:
    """Whether any role in force gives `user` this action on this kind of record somewhere;
    with `only`, a grant of that reach (Reach.OWN: over the records they own or were
    assigned). A superuser holds every grant."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    for assignment in active_assignments(user):
        granted = reach(role=assignment.role, resource=resource, action=action)
        if granted is not None and (only is None or granted is only):
            return True
    return False


def users_in_scope(user: AbstractBaseUser | AnonymousUser, *, action: Action = Action.VIEW) -> Any:
    """Logins that hold a role or a staff record inside the user's reach for role assignments."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.all()
    q = scope_filter(
        user,
        resource=Resource.ROLE_ASSIGNMENT,
        action=action,
        org_path_field="role_assignments__org_unit__path",
        owner_field=None,
    )
    if q is None:
        return users
    staff_q = scope_filter(
        user,
        resource=Resource.STAFF,
        action=action,
        org_path_field="staff__org_unit__path",
        owner_field=None,
    )
    return users.filter(pk__in=users.filter(q | (staff_q or Q())).values("pk"))
