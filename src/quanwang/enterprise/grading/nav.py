"""Console navigation entries of the enterprise grading part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(
        Capability.PLAN,
        _("Account grading rules"),
        "enterprise:grading-rules",
        Resource.ENTERPRISE_RULES,
    ),
]
