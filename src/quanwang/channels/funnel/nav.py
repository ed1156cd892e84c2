"""Console navigation entries of the funnel part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

# Shown to those who read grid figures (a partner's login, which sees only its own stores,
# reads its store's funnel on its own page).
ITEMS: list[NavItem] = [
    NavItem(
        Capability.ANALYSE,
        _("Omni-channel funnel"),
        "channels:funnel-index",
        Resource.GRID_SCORECARD,
    ),
]
