"""Console navigation entries of the insight app."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS = [
    NavItem(Capability.ANALYSE, _("Customer value"), "insight:dashboard", Resource.INSIGHT),
    NavItem(Capability.ANALYSE, _("Compare snapshots"), "insight:compare", Resource.INSIGHT),
    NavItem(Capability.ANALYSE, _("Churn model quality"), "insight:models", Resource.INSIGHT),
    NavItem(Capability.ANALYSE, _("Off-net win-over pool"), "insight:offnet", Resource.INSIGHT),
]
