"""Console navigation entries of the geo part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(Capability.ANALYSE, _("Grid map"), "channels:geo-map", Resource.GRID_SCORECARD),
    NavItem(
        Capability.SUPPORT, _("Points outside every grid"), "channels:geo-unassigned",
        Resource.CUSTOMER,
    ),
    NavItem(
        Capability.SUPPORT, _("Grid overlaps"), "channels:geo-overlaps", Resource.GRID_SCORECARD
    ),
]  # fmt: skip
