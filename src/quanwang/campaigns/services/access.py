"""Which campaigns a user may see or act on.

A campaign is seen by the roles whose CAMPAIGN grant reaches its org unit (the permission
table, `restrict`), and, once issued, by the managers of the units it was issued to: a VIEW
grant over a unit reaches every campaign holding a quota in that unit's subtree, or over the
unit itself (a county's quota, for the grid managers of that county). Those managers view it
and record its tasks' outcomes (CAMPAIGN_TASK); changing, approving and every other action
stay with the grants over the campaign's own unit.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from quanwang.campaigns.models import Campaign, Quota
from quanwang.campaigns.services.offers import unit_and_ancestor_paths
from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.errors import NotFound
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments


def viewing_units(user: Any) -> list[str] | None:
    """Paths of the org units where `user`'s CAMPAIGN VIEW grants are held (their subtrees are
    what they see of a campaign's units); None for the system and superusers: everything."""
    if user is None or getattr(user, "is_superuser", False):
        return None
    if not user.is_authenticated or not user.is_active:
        return []
    return [
        a.org_unit.path
        for a in active_assignments(user)
        if reach(role=a.role, resource=Resource.CAMPAIGN, action=Action.VIEW) is Reach.SUBTREE
    ]


def ancestor_paths(path: str) -> list[str]:
    """The paths of a unit's ancestors, e.g. /P/C/ for /P/C/G/ (the unit's own excluded)."""
    return unit_and_ancestor_paths(path)[:-1]


def issued_quotas(paths: list[str]) -> QuerySet[Quota]:
    """The quotas issued to the units under `paths` (in their subtrees), and those held over
    them (a county's quota covers its grids; an account manager's covers only the manager)."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(org_unit__path__startswith=path)
        q |= Q(org_unit__path__in=ancestor_paths(path), account_manager__isnull=True)
    return Quota.objects.filter(q)


def visible(user: Any, action: Action = Action.VIEW) -> Any:
    """The campaigns `user` may act on; all of them for the system (no user: commands, jobs).
    To VIEW, also those issued to the units of their VIEW grants (see the module)."""
    if user is None:
        return Campaign.objects.all()
    own = Campaign.objects.restrict(user, action)
    paths = viewing_units(user)
    if action != Action.VIEW or not paths:
        return own
    issued = issued_quotas(paths).values("campaign_id")
    return Campaign.objects.filter(Q(pk__in=own.values("pk")) | Q(pk__in=issued))


def get_campaign(*, user: Any, pk: int, action: Action = Action.VIEW) -> Campaign:
    campaign = visible(user, action).filter(pk=pk).first()
    if campaign is None:
        raise NotFound()
    return campaign
