"""Console navigation entries of the campaigns app."""

from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Resource
from quanwang.core.navigation import Capability, NavItem

ITEMS = [
    NavItem(Capability.PLAN, _("Campaigns"), "campaigns:list", Resource.CAMPAIGN),
    NavItem(Capability.PLAN, _("Segments"), "campaigns:segments", Resource.CAMPAIGN),
    NavItem(Capability.PLAN, _("Offer catalogue"), "campaigns:offers", Resource.OFFER),
    NavItem(
        Capability.PLAN,
        _("Evaluate an experiment"),
        "campaigns:experiment-evaluate",
        Resource.CAMPAIGN,
        Action.CHANGE,
    ),
    NavItem(Capability.PROMOTE, _("Dispatch overview"), "campaigns:promotion", Resource.CAMPAIGN),
    NavItem(Capability.EXECUTE, _("Task list"), "campaigns:tasks", Resource.CAMPAIGN_TASK),
    NavItem(Capability.EXECUTE, _("Opt-out review"), "campaigns:reviews", Resource.OPT_OUT_REVIEW),
]
