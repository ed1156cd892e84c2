"""Console navigation entries of the commissions part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(
        Capability.EXECUTE,
        _("Commission statements"),
        "channels:commissions-list",
        Resource.COMMISSION,
    ),
    NavItem(
        Capability.PLAN,
        _("Commission rules"),
        "channels:commissions-rules",
        Resource.CHANNEL_RULES,
    ),
]
