"""Records of the scorecards part of the channels app.

The scorecards' figures are kept as files per data version (channels.scorecards.services.kept),
not rows; what the database adds is who may read which: `ScorecardUnit`, the org tree seen
through the GRID_SCORECARD grant, so that `ScorecardUnit.objects.restrict(user)` is the units
(grids, counties) whose scorecards a user may open.
"""

from __future__ import annotations

from typing import ClassVar

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.models import OrgUnit

__all__ = ["ScorecardUnit"]


class ScorecardUnit(OrgUnit):
    scope_resource: ClassVar[Resource] = Resource.GRID_SCORECARD
    scope_org_path: ClassVar[str | None] = "path"

    class Meta:
        proxy = True
        verbose_name = _("scorecard unit")
        verbose_name_plural = _("scorecard units")
