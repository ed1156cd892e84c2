"""Console entries of performance.kpis."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(Capability.ANALYSE, _("KPI catalogue"), "performance:kpis-index", Resource.KPI),
]
