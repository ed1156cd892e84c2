"""Console entries of performance.targets."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(
        Capability.PLAN, _("Targets"), "performance:targets-tree", Resource.TARGET, Action.VIEW
    ),
]
