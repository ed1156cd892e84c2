"""Enumerations of the visits part: who made a commitment, how it ended, what a partner's issue
is about and where it stands. Values that operators write themselves (a side, a category) are
the Chinese words of their reports; states are codes."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CommitmentSide(models.TextChoices):
    """Who promised: our side (我方) or the partner (合作方)."""

    OURS = "我方", _("Our side")
    PARTNER = "合作方", pgettext_lazy("commitment side", "Partner")


class CommitmentStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("commitment", "Open")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    DROPPED = "dropped", _("Dropped")


#: The ways a commitment is closed (every state but OPEN): closing is final.
CLOSED_COMMITMENT = (CommitmentStatus.KEPT, CommitmentStatus.BROKEN, CommitmentStatus.DROPPED)


class IssueCategory(models.TextChoices):
    """What partners lose heart over (the issue's own list), and anything else."""

    PROMISE_NOT_KEPT = "承诺不兑现", _("Promises not kept")
    LEFT_UNSOLVED = "问题久拖不决", _("Problems left unsolved")
    OPAQUE_APPRAISAL = "考核不透明", _("Opaque appraisal")
    CHANGING_RULES = "规则多变", _("Rules keep changing")
    LATE_SUPPLY = "供货不及时", _("Late supply")
    OTHER = "其他", _("Other")


class IssueStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("issue", "Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")


#: Where an issue may go from each state (services.issues.move_issue).
ISSUE_MOVES: dict[IssueStatus, tuple[IssueStatus, ...]] = {
    IssueStatus.OPEN: (IssueStatus.IN_PROGRESS, IssueStatus.RESOLVED),
    IssueStatus.IN_PROGRESS: (IssueStatus.RESOLVED,),
    IssueStatus.RESOLVED: (),
}


class IssueSource(models.TextChoices):
    """Who raised it: our staff during a visit, or the partner from its own page."""

    STAFF = "staff", _("Raised by our staff")
    PARTNER = "partner", _("Raised by the partner")


class DueState(models.TextChoices):
    """Where a store stands against its visit plan, the most urgent first."""

    OVERDUE = "overdue", _("Overdue")
    NEVER = "never", _("Never visited")
    DUE = "due", pgettext_lazy("visit", "Due")
    ON_PLAN = "on_plan", _("On plan")
