"""Enumerations of the enterprise accounts part."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    """Who decided a value: the warehouse's import, or a person in the console (who wins)."""

    IMPORT = "import", _("Import")
    CONSOLE = "console", _("Console")


class ChangeKind(models.TextChoices):
    """What an entry of an account's history records."""

    PARENT = "parent", _("Moved in the hierarchy")
    OWNERSHIP = "ownership", _("Ownership changed")
    TEAM_ADDED = "team_added", _("Team member added")
    TEAM_REMOVED = "team_removed", _("Team member removed")
    LEAD = "lead", _("Lead account manager changed")
    MERGED = "merged", _("Merged")


class Product(models.TextChoices):
    """The enterprise products of the warehouse's enterprise_products table (its values)."""

    VPN = "集团V网", _("Group VPN")
    LEASED_LINE = "专线", _("Leased line")
    IOT = "物联网", _("Internet of Things")
    CLOUD = "云", _("Cloud")
    PRIVATE_5G = "5G专网", _("5G private network")
    GROUP_SMS = "集团短信", _("Group SMS")
    RINGBACK = "彩铃", _("Ringback tones")


class WarehouseStatus(models.TextChoices):
    """The warehouse's 经营状态 values."""

    NORMAL = "正常", _("Trading")
    SUSPENDED = "停业", _("Suspended")
    DEREGISTERED = "注销", _("Deregistered")
