"""Console navigation entries of the enterprise persons part."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS: list[NavItem] = [
    NavItem(Capability.SUPPORT, _("Care calendar"), "enterprise:persons-care", Resource.KEY_PERSON),
    NavItem(
        Capability.SUPPORT, _("Import key persons"), "enterprise:persons-import",
        Resource.KEY_PERSON, Action.ADD,
    ),
]  # fmt: skip
