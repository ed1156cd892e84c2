"""Console navigation entries of the scorecards part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(
        Capability.ANALYSE,
        _("Grid scorecards"),
        "channels:scorecards-index",
        Resource.GRID_SCORECARD,
    ),
]
