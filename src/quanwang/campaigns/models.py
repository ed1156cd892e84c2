"""Campaigns (营销案) and what they are made of: segments, ID lists, offers, history, quotas.

Large row sets live in the warehouse: an ID list and an issued campaign's frozen audience are
Parquet files the records point to, never a million ORM rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import (
    BatchState,
    CampaignState,
    CampaignType,
    Channel,
    ContactOutcome,
    DispatchState,
    OfferStatus,
    OfferType,
    PaymentType,
    ReviewState,
    Targeting,
    TaskSplit,
    WarningDelivery,
)
from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.models import Job, OrgUnit, Staff
from quanwang.core.querysets import RestrictedQuerySet, ScopedModel, has_grant

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from quanwang.insight.choices import ValueTier

USER = settings.AUTH_USER_MODEL


class CustomerList(ScopedModel):
    """An uploaded list of subscriber IDs, usable in segment rules as {"list": id}."""

    scope_resource: ClassVar[Resource] = Resource.CAMPAIGN
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    name = models.CharField(_("name"), max_length=100)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT)
    path = models.CharField(_("file"), max_length=500)
    size = models.PositiveIntegerField(_("IDs"))
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer list")
        verbose_name_plural = _("customer lists")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Segment(ScopedModel):
    """A named target group (目标客户); each save adds a version, old versions stay. The units
    below its unit may use it and copy it (campaigns.saved_segments)."""

    scope_resource: ClassVar[Resource] = Resource.CAMPAIGN
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # The version this segment was copied from (a unit below copies a province segment to
    # change it); kept, not required, when that segment is deleted.
    copied_from = models.ForeignKey(
        "SegmentVersion",
        verbose_name=_("copied from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering: ClassVar[list[str]] = ["name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["org_unit", "name"], name="segment_name_per_unit")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def latest(self) -> SegmentVersion | None:
        return self.versions.order_by("-number").first()


class SegmentVersion(models.Model):
    segment = models.ForeignKey(Segment, related_name="versions", on_delete=models.CASCADE)
    number = models.PositiveIntegerField(_("version"))
    rule = models.JSONField(_("rule"))
    text_zh = models.TextField(_("rule in Chinese"))
    text_en = models.TextField(_("rule in English"))
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("segment version")
        ordering: ClassVar[list[str]] = ["segment", "-number"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["segment", "number"], name="segment_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.segment.name} v{self.number}"


class Offer(ScopedModel):
    """An entry of the offer catalogue (优惠目录): one of the nine promotion tools, owned by an
    org unit. Its unit manages it; campaigns of that unit and the units below it may use it
    (campaigns.services.offers). Retired, never deleted once a campaign used it."""

    scope_resource: ClassVar[Resource] = Resource.OFFER
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    # Unique over the whole catalogue: orders and call lists name offers by code.
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    offer_type = models.CharField(_("promotion tool"), max_length=20, choices=OfferType.choices)
    description = models.TextField(_("description"), blank=True)
    cost_per_taker = models.DecimalField(
        _("cost per taker (yuan)"), max_digits=10, decimal_places=2, default=Decimal("0")
    )
    monthly_revenue_change = models.DecimalField(
        _("monthly revenue change per taker (yuan)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("What a taker adds (or gives up, negative) to their monthly bill."),
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    # Who may take the offer: value tiers (empty: every tier) and a payment type (blank: both),
    # and anything else in words. Shown wherever the offer is chosen; the campaign's segment,
    # not this, decides whom a campaign contacts.
    eligible_tiers = models.JSONField(_("eligible value tiers"), default=list, blank=True)
    eligible_payment = models.CharField(
        _("eligible payment type"), max_length=20, choices=PaymentType.choices, blank=True
    )
    eligibility = models.TextField(_("other conditions"), blank=True)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    retired_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering: ClassVar[list[str]] = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def status(self, *, today: dt.date) -> OfferStatus:
        if self.retired_at is not None:
            return OfferStatus.RETIRED
        return OfferStatus.EXPIRED if self.valid_until < today else OfferStatus.ACTIVE

    def eligibility_labels(self) -> list[str]:
        """Who may take it, in words of the active language: tiers, payment type, the rest."""
        labels = [str(ValueTier(t).label) for t in self.eligible_tiers if t in ValueTier.values]
        if self.eligible_payment:
            labels.append(str(PaymentType(self.eligible_payment).label))
        if self.eligibility:
            labels.append(self.eligibility)
        return labels


class Campaign(ScopedModel):
    """A marketing campaign (营销案) from hypothesis to evaluation."""

    scope_resource: ClassVar[Resource] = Resource.CAMPAIGN
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    name = models.CharField(_("name"), max_length=120)
    campaign_type = models.CharField(_("type"), max_length=20, choices=CampaignType.choices)
    hypothesis = models.TextField(_("strategy hypothesis"))
    objective_metric = models.CharField(_("objective: metric"), max_length=100)
    objective_target = models.DecimalField(_("objective: target"), max_digits=14, decimal_places=2)
    objective_deadline = models.DateField(_("objective: deadline"))
    segment_version = models.ForeignKey(
        SegmentVersion, verbose_name=_("segment"), on_delete=models.PROTECT
    )
    offers = models.ManyToManyField(Offer, verbose_name=_("offers"), blank=True)
    channels = models.JSONField(_("channels"), default=list)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    budget = models.DecimalField(_("budget (yuan)"), max_digits=14, decimal_places=2)
    control_share = models.DecimalField(
        _("control group share"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.100"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.5"))],
    )
    seed = models.PositiveIntegerField(_("random seed"), default=1)
    targeting = models.CharField(
        _("targeting"), max_length=20, choices=Targeting.choices, default=Targeting.SEGMENT
    )
    targeting_share = models.DecimalField(
        _("share of the segment to target by uplift"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.300"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
    )
    uplift_source = models.ForeignKey(
        "self",
        verbose_name=_("uplift learned from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("An evaluated campaign whose treated and control results train the model."),
    )
    task_split = models.CharField(
        _("task lists"),
        max_length=20,
        choices=TaskSplit.choices,
        default=TaskSplit.GRID,
        help_text=_(
            "Whose task lists the task steps fill and who holds the quotas: grids and stores, "
            "counties, or first the account managers of the customers' enterprises."
        ),
    )
    estimate = models.JSONField(_("revenue estimate"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=CampaignState.choices, default=CampaignState.DRAFT
    )
    audience_path = models.CharField(_("frozen audience"), max_length=500, blank=True)
    audience_size = models.PositiveIntegerField(_("audience"), null=True, blank=True)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class CampaignEvent(models.Model):
    """One step of a campaign's history: a state change or a comment."""

    campaign = models.ForeignKey(Campaign, related_name="events", on_delete=models.CASCADE)
    from_state = models.CharField(max_length=20, choices=CampaignState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=CampaignState.choices)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL)
    comment = models.TextField(_("comment"), blank=True)
    # On a submit of a campaign expected to lose money: the expected net (negative, yuan) the
    # submitter acknowledged knowing.
    acknowledged_net = models.DecimalField(
        _("expected loss acknowledged"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.from_state or '·'} → {self.to_state}"


class Quota(models.Model):
    """What one org unit (a grid, or a county for a campaign split by county), one account
    manager or one store is asked to deliver of an issued campaign, and by when. An account
    manager's quota is held at their own org unit, a store's at the store's grid (a share of
    the quota held at or above that grid: campaigns.store_quotas). The levels above add them
    up (services.progress)."""

    campaign = models.ForeignKey(Campaign, related_name="quotas", on_delete=models.CASCADE)
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT)
    account_manager = models.ForeignKey(
        Staff,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    store = models.ForeignKey(
        "channels.Store",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaign_quotas",
    )
    audience = models.PositiveIntegerField(_("customers to contact"))
    target = models.PositiveIntegerField(_("takers expected"))
    deadline = models.DateField(_("deadline"))

    class Meta:
        ordering: ClassVar[list[str]] = ["campaign", "org_unit__path", "account_manager_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["campaign", "org_unit"],
                condition=models.Q(account_manager__isnull=True, store__isnull=True),
                name="quota_once_per_unit",
            ),
            models.UniqueConstraint(
                fields=["campaign", "account_manager"],
                condition=models.Q(account_manager__isnull=False),
                name="quota_once_per_account_manager",
            ),
            models.UniqueConstraint(
                fields=["campaign", "store"],
                condition=models.Q(store__isnull=False),
                name="quota_once_per_store",
            ),
            models.CheckConstraint(
                condition=models.Q(account_manager__isnull=True) | models.Q(store__isnull=True),
                name="quota_manager_or_store",
            ),
        ]

    def __str__(self) -> str:
        who = f"{self.org_unit_id}/{self.account_manager_id or '-'}/{self.store_id or '-'}"
        return f"{self.campaign_id} @ {who}: {self.target}/{self.audience}"


class TaskOutcomeQuerySet(RestrictedQuerySet):
    """An own-records grant on task outcomes reaches an account manager's own customers
    (`scope_owner`) and a partner login's own stores (Store.partners): their store tasks."""

    def restrict(
        self, user: AbstractBaseUser | AnonymousUser, action: Action = Action.VIEW
    ) -> Self:
        narrowed = super().restrict(user, action)
        if getattr(user, "is_superuser", False) or not has_grant(
            user, resource=Resource.CAMPAIGN_TASK, action=action, only=Reach.OWN
        ):
            return narrowed
        from quanwang.campaigns.tasks.scope import partner_stores

        stores = partner_stores(user)
        if not stores:
            return narrowed
        return self.filter(
            models.Q(pk__in=narrowed.values("pk"))
            | models.Q(store_id__in=stores, account_manager__isnull=True)
        )


class TaskOutcome(ScopedModel):
    """What a grid, store or account manager recorded for one customer of a campaign's task
    list: the latest outcome counts, `attempts` how many times it was recorded. The org unit
    is the customer's grid, or the account manager's own unit for their customers."""

    scope_resource: ClassVar[Resource] = Resource.CAMPAIGN_TASK
    scope_org_path: ClassVar[str | None] = "org_unit__path"
    # An account manager's own-records grant reaches the outcomes of their own customers; a
    # partner's, those of its stores (TaskOutcomeQuerySet).
    scope_owner: ClassVar[str | None] = "account_manager__user"

    objects = TaskOutcomeQuerySet.as_manager()  # type: ignore[misc]  # a narrower manager

    campaign = models.ForeignKey(Campaign, related_name="task_outcomes", on_delete=models.CASCADE)
    subscriber_id = models.CharField(_("subscriber ID"), max_length=40)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("grid"), on_delete=models.PROTECT)
    store_id = models.CharField(_("store"), max_length=40, blank=True)
    account_manager = models.ForeignKey(
        Staff,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=ContactOutcome.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    recorded_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("task outcome")
        verbose_name_plural = _("task outcomes")
        ordering: ClassVar[list[str]] = ["campaign", "subscriber_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["campaign", "subscriber_id"], name="task_outcome_once_per_customer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.subscriber_id}: {self.outcome}"


class EarlyWarning(ScopedModel):
    """An org unit, or an account manager, running behind its quota's pace (预警), raised at
    most once a day per campaign and unit (or manager), and the record of whom it was sent
    to."""

    scope_resource: ClassVar[Resource] = Resource.CAMPAIGN
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    campaign = models.ForeignKey(Campaign, related_name="warnings", on_delete=models.CASCADE)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT)
    account_manager = models.ForeignKey(
        Staff,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    day = models.DateField(_("day"))
    pace = models.FloatField(_("pace"))
    responders = models.PositiveIntegerField(_("takers so far"))
    expected = models.FloatField(_("takers expected by now"))
    delivered = models.JSONField(
        _("sent to"),
        default=list,
        blank=True,
        help_text=_("One entry per recipient: delivery, user and address."),
    )
    delivery = models.CharField(
        _("delivery"),
        max_length=20,
        choices=WarningDelivery.choices,
        default=WarningDelivery.CONSOLE,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("early warning")
        verbose_name_plural = _("early warnings")
        ordering: ClassVar[list[str]] = ["-day", "org_unit__path"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["campaign", "org_unit", "day"],
                condition=models.Q(account_manager__isnull=True),
                name="warning_once_per_unit_and_day",
            ),
            models.UniqueConstraint(
                fields=["campaign", "account_manager", "day"],
                condition=models.Q(account_manager__isnull=False),
                name="warning_once_per_account_manager_and_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} @ {self.org_unit_id} {self.day}: {self.pace:.2f}"


class DispatchStep(models.Model):
    """One step of a campaign (推广 s1, s2, …): its claim, its counts and its schedule.

    There is one row per (campaign, step), whatever the number of requests and jobs: a request
    for a step whose job is queued or running gets that job back, and a job sends only while
    it holds the claim (`owner` at attempt `owner_attempt`, a live run of that job). Per-batch
    send records are DispatchBatch rows; per-customer results stay in Parquet files
    (campaigns.dispatch)."""

    campaign = models.ForeignKey(Campaign, related_name="dispatch_steps", on_delete=models.CASCADE)
    step = models.CharField(_("step"), max_length=40)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    text = models.TextField(_("message"))
    state = models.CharField(
        _("state"), max_length=20, choices=DispatchState.choices, default=DispatchState.QUEUED
    )
    #: The job a new request for the step is answered with: the last one queued for it.
    job = models.ForeignKey(
        Job, verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    #: The run sending the step now; empty when nobody is.
    owner = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_attempt = models.PositiveIntegerField(default=0)
    #: Fixed by the plan: batch N is always the same customers, whichever run sends it.
    batch_size = models.PositiveIntegerField(null=True, blank=True)
    planned = models.PositiveIntegerField(_("to send"), null=True, blank=True)
    excluded = models.JSONField(_("held back"), default=dict, blank=True)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    unknown = models.PositiveIntegerField(_("outcome unknown"), default=0)
    #: Customers held back by the quiet hours, sent when the window opens (`deferred_until`).
    deferred = models.PositiveIntegerField(_("deferred"), default=0)
    deferred_until = models.DateTimeField(_("goes out at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("dispatch step")
        verbose_name_plural = _("dispatch steps")
        ordering: ClassVar[list[str]] = ["campaign", "created_at", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["campaign", "step"], name="dispatch_step_once")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.step}: {self.state}"


class DispatchBatch(models.Model):
    """The send ledger: one row per batch of a step, written (claimed) before the gateway is
    called and settled after, so no batch is ever handed to a gateway twice. Its customers are
    the plan's rows `index × batch_size` onwards; their results are the batch's Parquet file."""

    dispatch_step = models.ForeignKey(
        DispatchStep, related_name="batches", on_delete=models.CASCADE
    )
    index = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=BatchState.choices, default=BatchState.CLAIMED)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempt = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["dispatch_step", "index"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["dispatch_step", "index"], name="dispatch_batch_once")
        ]

    def __str__(self) -> str:
        return f"{self.dispatch_step_id}#{self.index}: {self.state}"


class ReplyReview(ScopedModel):
    """An inbound SMS reply that may be an opt-out (退订) but is not clearly one (`退款`,
    `不要`, `我不想退订`): held for a marketer of the customer's unit to decide, never dropped.
    One per gateway message; deciding "opted out" records the opt-out as of the reply."""

    scope_resource: ClassVar[Resource] = Resource.OPT_OUT_REVIEW
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    message_id = models.CharField(_("gateway message id"), max_length=100, unique=True)
    subscriber_id = models.CharField(_("subscriber ID"), max_length=64)
    text = models.TextField(_("reply"))
    received_at = models.DateTimeField(_("received at"))
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reply_reviews",
        help_text=_("The latest campaign whose SMS reached the customer."),
    )
    # The customer's grid (else the campaign's unit, else the root): who may decide. Null only
    # where no org tree is loaded; then superusers see it.
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), null=True, blank=True, on_delete=models.PROTECT
    )
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=ReviewState.choices,
        default=ReviewState.PENDING,
        db_index=True,
    )
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("opt-out review")
        verbose_name_plural = _("opt-out reviews")
        ordering: ClassVar[list[str]] = ["received_at", "pk"]

    def __str__(self) -> str:
        return f"{self.subscriber_id}: {self.text[:20]}"
