"""Enumerations of performance.targets."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChangeKind(models.TextChoices):
    """What made a target's value change (TargetChange.kind)."""

    SET = "set", _("Set")
    DECOMPOSED = "decomposed", _("Decomposed from the parent")
    CHANGED = "changed", _("Changed by hand")
    BALANCED = "balanced", _("Balanced against a sibling's change")
    LOCKED = "locked", _("Locked")
    UNLOCKED = "unlocked", _("Unlocked")


class Rule(models.TextChoices):
    """How a target is decomposed over its children."""

    LAST_SHARE = "last_share", _("By last period's share")
    CUSTOMER_BASE = "customer_base", _("By customer base")
    POTENTIAL = "potential", _("By potential")
    MANUAL = "manual", _("Manually")


class Into(models.TextChoices):
    """Whom a target is decomposed over."""

    UNITS = "units", _("Units one level down")
    STAFF = "staff", _("Staff responsible for the unit")
    STORES = "stores", _("Stores of the grid")


class Absorb(models.TextChoices):
    """Where the difference of a child's manual change goes."""

    PARENT = "parent", _("The parent target changes by the same amount")
    SIBLINGS = "siblings", _("The unlocked siblings, in proportion")
    SIBLING = "sibling", _("One named sibling")
