"""Enumerations of the commissions part (酬金): states are codes, labels go through gettext."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RuleSetStatus(models.TextChoices):
    """A draft is edited; a published (active) set is never edited again: a change is a new
    version, which supersedes the older one from its first day."""

    DRAFT = "draft", pgettext_lazy("rule set", "Draft")
    ACTIVE = "active", pgettext_lazy("rule set", "Active")
    RETIRED = "retired", pgettext_lazy("rule set", "Superseded")


class RunStatus(models.TextChoices):
    COMPUTING = "computing", _("Computing")
    COMPUTED = "computed", pgettext_lazy("commission run", "Computed")
    FAILED = "failed", pgettext_lazy("commission run", "Failed")


class StatementStatus(models.TextChoices):
    """Computed statements are replaced by a re-run; an approved one is frozen."""

    COMPUTED = "computed", pgettext_lazy("statement", "Computed")
    APPROVED = "approved", pgettext_lazy("statement", "Approved (frozen)")


class LineKind(models.TextChoices):
    """What a statement line pays or takes back. The last three carry no amount: facts of the
    month that earn nothing, listed so that no fact goes unexplained."""

    UPFRONT = "upfront", _("Paid on activation")
    DEFERRED = "deferred", _("Deferred part (line still active)")
    REVENUE_SHARE = "revenue_share", _("Share of the month's revenue")
    CLAWBACK = "clawback", _("Clawback on early churn")
    REVERSAL = "reversal", _("Reversal of a refunded or reversed sale")
    NO_RULE = "no_rule", _("No rule covers this sale")
    DUPLICATE_CANCEL = "duplicate_cancel", _("Sale already refunded or reversed")
    UNKNOWN_ORIGINAL = "unknown_original", _("Refund or reversal of no known sale")


#: Line kinds that move money, in the order a sale's lines are listed.
PAYING_KINDS = (
    LineKind.UPFRONT,
    LineKind.DEFERRED,
    LineKind.REVENUE_SHARE,
    LineKind.CLAWBACK,
    LineKind.REVERSAL,
)
NOTE_KINDS = (LineKind.NO_RULE, LineKind.DUPLICATE_CANCEL, LineKind.UNKNOWN_ORIGINAL)
LINE_ORDER = {kind.value: index for index, kind in enumerate((*PAYING_KINDS, *NOTE_KINDS))}
