"""Enumerations of the geo part."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class How(models.TextChoices):
    """How a point got its grid in an assignment run."""

    POLYGON = "polygon", _("By polygon")  # its coordinates lie in the grid's polygon
    IMPORTED = "imported", _("As imported")  # no coordinates: the grid its file names
    UNASSIGNED = "unassigned", _("Outside every grid")


class PointKind(models.TextChoices):
    """The warehouse tables whose rows are placed in grids (their key column: POINT_KEYS)."""

    SUBSCRIBERS = "subscribers", _("Customers")
    STORES = "stores", _("Stores")
    ENTERPRISES = "enterprises", _("Enterprises")


POINT_KEYS = {
    PointKind.SUBSCRIBERS: "subscriber_id",
    PointKind.STORES: "store_id",
    PointKind.ENTERPRISES: "enterprise_id",
}
