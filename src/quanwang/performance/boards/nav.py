"""Console entries of performance.boards."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(Capability.ANALYSE, _("Leaderboard"), "performance:boards-index", Resource.LEADERBOARD),
    # Every reader of boards sees how the composites are weighted (考核透明); the province
    # changes them there.
    NavItem(
        Capability.PLAN,
        _("Composite scores"),
        "performance:boards-composites",
        Resource.LEADERBOARD,
    ),
    NavItem(
        Capability.EXECUTE,
        _("Morning meeting"),
        "performance:boards-morning-index",
        Resource.LEADERBOARD,
    ),
]
