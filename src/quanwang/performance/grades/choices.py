"""Enumerations of performance.grades: the three levels of 三级十档, a move's direction and its
state."""

from django.db import models
from django.utils.translation import gettext_lazy as _

#: Steps (档) in each level: 三级十档 is 3 levels × 10 steps.
STEPS = 10


class GradeLevel(models.IntegerChoices):
    """The three levels. The seeds name none (“营销人员岗位分为三级十档”); the enterprise app's
    account managers use junior / middle / senior, so the staff grades do too (初级/中级/高级)."""

    JUNIOR = 1, _("Junior")
    MIDDLE = 2, _("Middle")
    SENIOR = 3, _("Senior")


class MoveDirection(models.TextChoices):
    PROMOTE = "promote", _("Promotion")
    DEMOTE = "demote", _("Demotion")


class MoveStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    # Proposed once, then a later result (a late fact correction) no longer earns it.
    WITHDRAWN = "withdrawn", _("Withdrawn: the results no longer earn it")


#: A move still open to the rules: re-proposing the period may update or withdraw it.
OPEN_STATUSES = (MoveStatus.PENDING, MoveStatus.WITHDRAWN)
