"""Which grids' funnels a user may read: the grids inside the reach of their STORE view grant
(the funnel is the stores' figures). A partner's login (Reach.OWN) reads its stores' funnels on
its own page, never a grid's."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from quanwang.core.choices import Action, OrgLevel, Resource
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import scope_filter


def visible_grids(user: Any) -> QuerySet[OrgUnit]:
    grids = OrgUnit.objects.filter(level=OrgLevel.GRID)
    q = scope_filter(
        user, resource=Resource.STORE, action=Action.VIEW, org_path_field="path", owner_field=None
    )
    return grids if q is None else grids.filter(q)


def visible_grid(user: Any, code: str) -> OrgUnit | None:
    return visible_grids(user).filter(code=code).first()
