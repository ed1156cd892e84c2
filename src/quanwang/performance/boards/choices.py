"""Enumerations of performance.boards."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import OrgLevel
from quanwang.performance.choices import Grain


class BoardLevel(models.TextChoices):
    """Who a board ranks."""

    COUNTY = "county", _("Counties")
    GRID = "grid", _("Grids")
    GRID_MANAGER = "grid_manager", _("Grid managers")
    ACCOUNT_MANAGER = "account_manager", _("Account managers")
    STORE = "store", _("Stores")


#: The grain of the KPI values each level ranks.
LEVEL_GRAIN: dict[BoardLevel, Grain] = {
    BoardLevel.COUNTY: Grain.ORG_UNIT,
    BoardLevel.GRID: Grain.ORG_UNIT,
    BoardLevel.GRID_MANAGER: Grain.STAFF,
    BoardLevel.ACCOUNT_MANAGER: Grain.STAFF,
    BoardLevel.STORE: Grain.STORE,
}

#: The peer boards a role held at a unit of this level may see besides its own subtree: the
#: boards of these levels within the unit's parent (a grid manager sees the grids and grid
#: managers of their county: the board posted to the team's WeChat group).
PEER_LEVELS: dict[str, frozenset[BoardLevel]] = {
    OrgLevel.GRID: frozenset(
        {BoardLevel.GRID, BoardLevel.GRID_MANAGER, BoardLevel.ACCOUNT_MANAGER}
    ),
    OrgLevel.COUNTY: frozenset({BoardLevel.COUNTY, BoardLevel.ACCOUNT_MANAGER}),
}


class Movement(models.TextChoices):
    UP = "up", _("Up")
    DOWN = "down", _("Down")
    SAME = "same", _("Unchanged")
    NEW = "new", _("New on the board")


class BoardKind(models.TextChoices):
    KPI = "kpi", _("KPI")
    COMPOSITE = "composite", _("Composite score")
