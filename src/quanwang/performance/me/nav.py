"""Console entries of performance.me: every login that may read targets (its own at least)."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(Capability.EXECUTE, _("My performance"), "performance:me", Resource.TARGET),
]
