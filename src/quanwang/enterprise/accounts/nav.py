"""Console navigation entries of the enterprise accounts part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    # The enterprise customer support system (集团客户支撑系统) is one of the support
    # capabilities; an account manager's login sees its own accounts (Reach.OWN).
    NavItem(
        Capability.SUPPORT,
        _("Enterprise dashboard"),
        "enterprise:dashboard",
        Resource.ENTERPRISE_ACCOUNT,
    ),
    NavItem(
        Capability.SUPPORT,
        _("Enterprise accounts"),
        "enterprise:accounts-list",
        Resource.ENTERPRISE_ACCOUNT,
    ),
]
