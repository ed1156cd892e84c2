"""Console navigation entries of the enterprise work part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    # Those who visit (ADD): account managers and the county's staff.
    NavItem(
        Capability.EXECUTE, _("Account visits"), "enterprise:work-visits-due",
        Resource.ENTERPRISE_VISIT, Action.ADD,
    ),
    # The managers of a unit: an account manager's own login has its portfolio instead (the
    # page sends them there), reached from the home page.
    NavItem(
        Capability.SUPPORT, _("Account managers"), "enterprise:work-managers",
        Resource.ENTERPRISE_ACCOUNT, reach=Reach.SUBTREE,
    ),
    NavItem(
        Capability.PLAN, _("Account visit plan"), "enterprise:work-visit-plan",
        Resource.ENTERPRISE_RULES,
    ),
]  # fmt: skip
