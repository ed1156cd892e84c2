"""Codes of the campaign closed loop (营销案), with their console labels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignType(models.TextChoices):
    RETENTION = "retention", _("Retention (维系)")
    UPSELL = "upsell", _("Upsell (升档)")
    MIGRATE_5G = "migrate_5g", _("5G migration (5G迁转)")
    BUNDLE = "bundle", _("Bundle (融合)")
    WIN_OVER = "win_over", _("Win-over (异网策反)")
    WIN_BACK = "win_back", _("Win-back (赢回)")
    ACQUISITION = "acquisition", _("Acquisition (拉新)")


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    ISSUED = "issued", _("Issued")
    RUNNING = "running", _("Running")
    CLOSED = "closed", _("Closed")
    EVALUATED = "evaluated", _("Evaluated")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat template message")
    APP_PUSH = "app_push", _("App push")
    OUTBOUND_CALL = "outbound_call", _("Outbound call list")
    TASK = "task", _("Grid or store task")


class OfferType(models.TextChoices):
    """The nine promotion tools (促销工具)."""

    GIFT = "gift", _("Gift (赠品)")
    POINTS = "points", _("Points (积分)")
    SUBSIDY = "subsidy", _("Subsidy (倒贴/补贴)")
    RED_PACKET = "red_packet", _("Red packet (红包)")
    MEMBERSHIP = "membership", _("Membership (会员)")
    TIE_IN = "tie_in", _("Tie-in event (借势)")
    LOTTERY = "lottery", _("Lottery (抽奖)")
    BUNDLED_SALE = "bundled_sale", _("Bundled sale (配销)")
    DISTRIBUTION = "distribution", _("Distribution (分销)")


class PaymentType(models.TextChoices):
    """A subscriber's payment type (subscribers.payment_type), as an offer's eligibility."""

    PREPAID = "prepaid", _("Prepaid (预付费)")
    POSTPAID = "postpaid", _("Postpaid (后付费)")


class OfferStatus(models.TextChoices):
    """Where an offer of the catalogue stands today: only an available one (not retired, valid
    until today or later) can be attached to a new campaign."""

    ACTIVE = "active", _("Available")
    EXPIRED = "expired", _("Expired")
    RETIRED = "retired", _("Retired")


class ContactOutcome(models.TextChoices):
    CONTACTED = "contacted", _("Contacted")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")
    UNREACHABLE = "unreachable", _("Unreachable")


class ExclusionRule(models.TextChoices):
    """Why the contact policy held a customer back from a dispatch; kept in the dispatch log."""

    CONTROL_GROUP = "control_group", _("In the control group")
    NO_CONSENT = "no_consent", _("No marketing consent for the channel")
    NO_RECIPIENT = "no_recipient", _("No address on the channel (e.g. no WeChat openid)")
    OPTED_OUT = "opted_out", _("Opted out (退订) of the channel")
    DO_NOT_DISTURB = "do_not_disturb", _("On the do-not-disturb list")
    SUPPRESSED = "suppressed", _("On a suppression list")
    DAILY_CAP = "daily_cap", _("Daily contact cap reached")
    MONTHLY_CAP = "monthly_cap", _("Monthly contact cap reached")
    QUIET_HOURS = "quiet_hours", _("Outside the sending hours")
    COOL_OFF = "cool_off", _("Cooling off after a refusal")


class Targeting(models.TextChoices):
    """Whom of the segment an issued campaign contacts."""

    SEGMENT = "segment", _("Everyone in the segment")
    UPLIFT = "uplift", _("The segment's customers with the highest predicted uplift")


class TaskSplit(models.TextChoices):
    """Whose task lists a campaign's task steps fill, and at which level its quotas are set
    (campaigns.issuing.split_quotas): per grid, per county (the county manager shares its
    quota out; the grids' and stores' lists are the same), or per account manager."""

    GRID = "grid", _("Grids and stores")
    COUNTY = "county", _("Grids and stores, with quotas per county")
    ACCOUNT_MANAGER = (
        "account_manager",
        _("Enterprise members to their account managers, the rest to grids and stores"),
    )


class WarningDelivery(models.TextChoices):
    """How an early warning reached the unit's manager."""

    CONSOLE = "console", _("Shown in the console")
    SMS = "sms", _("SMS to the manager")
    EMAIL = "email", _("Email to the manager")


class DispatchState(models.TextChoices):
    """Where one step of a campaign stands (campaigns.models.DispatchStep)."""

    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DEFERRED = "deferred", _("Waiting for the sending hours")
    DONE = "done", _("Done")
    STOPPED = "stopped", _("Stopped")


class BatchState(models.TextChoices):
    """One batch of a step in the send ledger: claimed before the gateway is called, settled
    after. A batch whose sender died in between is unknown: never sent again."""

    CLAIMED = "claimed", _("Being sent")
    SENT = "sent", _("Sent")
    UNKNOWN = "unknown", _("Outcome unknown, not sent again")


class ReviewState(models.TextChoices):
    """Where an SMS reply that may be an opt-out (ReplyReview) stands."""

    PENDING = "pending", _("Waiting for a decision")
    OPTED_OUT = "opted_out", _("Opted out")
    DISMISSED = "dismissed", _("Not an opt-out")


class GridType(models.TextChoices):
    """The warehouse's grid types (grids.grid_type): street grids "横向到边" and industry grids
    "纵向到底", campuses, industrial parks, villages. The values are the exports' words."""

    STREET = "沿街", _("Street grid")
    INDUSTRY = "行业", _("Industry grid")
    CAMPUS = "校园", _("Campus grid")
    PARK = "园区", _("Industrial park grid")
    RURAL = "农村", _("Rural grid")
