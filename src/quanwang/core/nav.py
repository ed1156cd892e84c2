"""Console navigation entries of the core app, under the 支撑 (support) capability."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS = [
    NavItem(Capability.SUPPORT, _("Org units"), "core:orgunit-list", Resource.ORG_UNIT),
    NavItem(Capability.SUPPORT, _("Staff"), "core:staff-list", Resource.STAFF),
    NavItem(Capability.SUPPORT, _("Jobs"), "core:job-list", Resource.JOB),
    NavItem(Capability.SUPPORT, _("Audit log"), "core:audit-list", Resource.AUDIT_RECORD),
    NavItem(Capability.SUPPORT, _("API tokens"), "core:token-list", Resource.API_TOKEN),
]
