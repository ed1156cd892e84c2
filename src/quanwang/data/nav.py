"""Console navigation entries of the data app."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS = [
    NavItem(Capability.ANALYSE, _("Customer 360"), "data:customer-search", Resource.CUSTOMER),
    # Every role that may import any table may import customer tables (core.permissions).
    NavItem(
        Capability.SUPPORT, _("Data import"), "data:table-import", Resource.CUSTOMER, Action.IMPORT
    ),
    NavItem(Capability.SUPPORT, _("Column mappings"), "data:mapping-list", Resource.IMPORT_MAPPING),
]
