"""Enumerations of performance.incentives."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoleKind(models.TextChoices):
    """Whom a rule set pays: the values match performance.actuals' responsibility kinds, so a
    staff member's kind is read off who holds which grid, enterprise account or store."""

    GRID_MANAGER = "grid_manager", _("Grid manager")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    STORE_CLERK = "store_clerk", _("Store clerk")


class StatementStatus(models.TextChoices):
    COMPUTED = "computed", _("Computed")
    # Approved statements are frozen: never recomputed, never edited.
    APPROVED = "approved", _("Approved")


class LineKind(models.TextChoices):
    PIECE = "piece", _("Piece rate, own results")
    TEAM = "team", _("Piece rate, team pool share")
    MULTIPLIER = "multiplier", _("Attainment multiplier")
    GRADE = "grade", _("Grade coefficient")
    DEDUCTION = "deduction", _("Deduction")
    CAP = "cap", _("Cap")
    FLOOR = "floor", _("Floor")
    ADJUSTMENT = "adjustment", _("Adjustment of an approved month")
