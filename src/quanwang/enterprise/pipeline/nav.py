"""Console navigation entries of the enterprise pipeline part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(
        Capability.SUPPORT, _("Opportunity pipeline"), "enterprise:pipeline-board",
        Resource.OPPORTUNITY,
    ),
    NavItem(
        Capability.SUPPORT, _("Industry products"), "enterprise:pipeline-products",
        Resource.ENTERPRISE_RULES,
    ),
]  # fmt: skip
