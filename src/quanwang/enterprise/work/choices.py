"""Enumerations of the enterprise work part."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DueReason(models.TextChoices):
    """Why an account is in the due list."""

    # No visit logged yet.
    NEVER = "never", _("Never visited")
    # The grade's interval has passed since the last visit.
    PLAN = "plan", _("Visit plan")
    # The last visit's next step set a follow-up date.
    FOLLOW_UP = "follow_up", _("Follow-up")


class DueState(models.TextChoices):
    DUE_TODAY = "today", _("Due today")
    OVERDUE = "overdue", _("Overdue")


class AppraisalMeasure(models.TextChoices):
    """The appraisal facts of an account manager for a month (客户经理考核), each with a page
    of the rows behind it."""

    VISITS_DONE = "visits_done", _("Visits done")
    VISITS_PLANNED = "visits_planned", _("Visits planned")
    OPPORTUNITIES_WON = "opportunities_won", _("Opportunities won")
    REVENUE = "revenue", _("Account revenue")
    RETENTION = "retention", _("Member retention")
