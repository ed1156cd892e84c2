"""Console entries of performance.grades."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    # A unit's distribution: for those who read a subtree's grades.
    NavItem(
        Capability.SUPPORT, _("Staff grades"), "performance:grades-distribution",
        Resource.STAFF_GRADE, reach=Reach.SUBTREE,
    ),
    # A staff member's own card (Reach.OWN) is reached from 我的业绩 (performance:me), which
    # also tells a login without a staff record why it has none.
    NavItem(
        Capability.SUPPORT, _("Grade moves to decide"), "performance:grades-moves",
        Resource.STAFF_GRADE, Action.APPROVE,
    ),
    NavItem(
        Capability.PLAN, _("Grade rules"), "performance:grades-rules",
        Resource.STAFF_GRADE, reach=Reach.SUBTREE,
    ),
]  # fmt: skip
