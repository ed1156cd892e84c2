"""Enumerations of performance.actuals."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ResponsibilityKind(models.TextChoices):
    """What a staff member holds: a grid (网格长), an enterprise account (客户经理) or a store
    (店员). A grid and an account have one holder at a time; a store may have several clerks."""

    GRID_MANAGER = "grid_manager", _("Grid manager")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    STORE_CLERK = "store_clerk", _("Store clerk")


class ResponsibilitySource(models.TextChoices):
    """Where a holder came from: the console's role assignments, the warehouse's grid file,
    the enterprise account file, or a manager's hand (store clerks)."""

    ROLE = "role", _("Role assignment")
    WAREHOUSE = "warehouse", _("Warehouse grid file")
    ACCOUNT_FILE = "account_file", _("Enterprise account file")
    HAND = "hand", _("Assigned by hand")
