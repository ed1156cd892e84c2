"""Console entries of performance.incentives."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(
        Capability.EXECUTE,
        _("Incentive statements"),
        "performance:incentives-list",
        Resource.INCENTIVE,
    ),
    NavItem(
        Capability.PLAN, _("Incentive rules"), "performance:incentives-rules", Resource.INCENTIVE
    ),
]
