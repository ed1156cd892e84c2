"""Console navigation entries of the visits part. The partner's own page has none: a
partner reaches it from the home page (its store card), and a staff login has no page there."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    # Those who visit (ADD); a partner reads its visits on its own page.
    NavItem(
        Capability.EXECUTE, _("Store visits"), "channels:visits-due", Resource.STORE_VISIT,
        Action.ADD,
    ),
    NavItem(
        Capability.EXECUTE, _("Visit commitments"), "channels:visits-commitments",
        Resource.STORE_VISIT, Action.CHANGE,
    ),
    NavItem(
        Capability.EXECUTE, _("Partner issues"), "channels:visits-issues",
        Resource.PARTNER_ISSUE, Action.CHANGE,
    ),
    NavItem(Capability.PLAN, _("Visit plan"), "channels:visits-plan", Resource.CHANNEL_RULES),
]  # fmt: skip
