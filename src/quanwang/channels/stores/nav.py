"""Console navigation entries of the stores part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    # A partner's login sees its own stores here too (Reach.OWN).
    NavItem(Capability.EXECUTE, _("Store file"), "channels:stores-list", Resource.STORE),
    # The coverage view and the grading rules are for staff: a partner holds no grant on the
    # channel rules.
    NavItem(
        Capability.ANALYSE, _("Store coverage"), "channels:stores-coverage", Resource.CHANNEL_RULES
    ),
    NavItem(
        Capability.PLAN, _("Store grading rules"), "channels:stores-rules", Resource.CHANNEL_RULES
    ),
]
