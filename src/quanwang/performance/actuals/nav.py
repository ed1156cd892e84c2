"""Console entries of performance.actuals."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Reach, Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(
        Capability.ANALYSE,
        _("KPI actuals"),
        "performance:actuals-status",
        Resource.KPI,
        reach=Reach.SUBTREE,
    ),
]
