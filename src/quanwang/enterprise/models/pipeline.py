"""Records of the enterprise pipeline part: the industry product catalogue (业务服务产品化),
opportunities (商机) with their stage history, and the CRM's service requests and orders
(业务受理/订单) kept in step with the warehouse's `enterprise_orders` table.

Opportunities and orders are scoped through their account (Resource.OPPORTUNITY): a unit's
grant reaches its accounts, an account manager's login (Reach.OWN) the accounts whose team it
is on. The catalogue is province-wide (Resource.ENTERPRISE_RULES): any VIEW grant reads it,
only a grant held at the root changes it (enterprise.pipeline.services.catalogue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Action, Resource
from quanwang.core.querysets import ScopedModel, has_grant
from quanwang.enterprise.pipeline.choices import (
    OpportunityStage,
    OpportunityStatus,
    OrderKind,
    OrderStatus,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

__all__ = [
    "EnterpriseOrder",
    "IndustryProduct",
    "Opportunity",
    "OpportunityStageChange",
]


class CatalogueQuerySet(models.QuerySet):
    """The catalogue applies to every unit, so it has no org path: a grant anywhere reads all
    of it (like the channels' grading rules). Changes need the grant at the root, checked by
    the services."""

    def restrict(
        self, user: AbstractBaseUser | AnonymousUser, action: Action = Action.VIEW
    ) -> Self:
        if has_grant(user, resource=Resource.ENTERPRISE_RULES, action=action):
            return self
        return self.none()


class IndustryProduct(models.Model):
    """A packaged offer for one industry (行业标准产品): the product lines it bundles, its list
    price, and — once published — the campaigns' offer it is sold as."""

    scope_resource: ClassVar[Resource] = Resource.ENTERPRISE_RULES

    code = models.CharField(_("code"), max_length=40, unique=True)
    industry = models.CharField(_("industry"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    # ProductLine values (集团V网, 专线, …) it packages, in the order shown.
    product_lines = models.JSONField(_("product lines"), default=list)
    list_price_fen = models.PositiveBigIntegerField(_("list price (fen a month)"), default=0)
    active = models.BooleanField(_("active"), default=True)
    # The campaigns' offer-catalogue entry that sells it (services.catalogue.publish_offer):
    # campaigns pick it like any other offer, and their evaluation reads the offer's terms.
    offer = models.OneToOneField(
        "campaigns.Offer",
        verbose_name=_("campaign offer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="industry_product",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    objects = CatalogueQuerySet.as_manager()

    class Meta:
        verbose_name = _("industry product")
        verbose_name_plural = _("industry products")
        ordering: ClassVar[list[str]] = ["industry", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def list_price_yuan(self) -> float:
        return self.list_price_fen / 100


class Opportunity(ScopedModel):
    """A sales opportunity (商机) on one account, usually from a solution proposal
    (整体解决方案). Its stage moves only through services.stages, which records each move."""

    scope_resource: ClassVar[Resource] = Resource.OPPORTUNITY
    scope_org_path: ClassVar[str | None] = "account__org_unit__path"
    scope_owner: ClassVar[str | None] = "account__team_members__staff__user"

    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    owner = models.ForeignKey(
        "core.Staff",
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    title = models.CharField(_("title"), max_length=200)
    stage = models.CharField(
        _("stage"), max_length=16, choices=OpportunityStage.choices, default=OpportunityStage.LEAD
    )
    # Follows the stage (open until WON or LOST); kept as a column for the open-list indexes.
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=OpportunityStatus.choices,
        default=OpportunityStatus.OPEN,
    )
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    # Set when someone typed a probability: a stage move then keeps it instead of the
    # stage's default.
    probability_set = models.BooleanField(_("probability set by hand"), default=False)
    expected_close = models.DateField(_("expected close"))
    products = models.ManyToManyField(
        IndustryProduct,
        verbose_name=_("products"),
        blank=True,
        related_name="opportunities",
    )
    proposal = models.TextField(_("solution proposal"), blank=True)
    proposal_file = models.CharField(_("proposal attachment"), max_length=200, blank=True)
    # Why it was lost (required for LOST) or reopened.
    close_reason = models.CharField(_("reason"), max_length=500, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # The create form's (or API client's) key: a double click or a retry creates one.
    idempotency_key = models.CharField(_("request key"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering: ClassVar[list[str]] = ["expected_close", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"], name="opportunity_once_per_key"
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="opportunity_probability_range",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "status"], name="opportunity_account_status"),
            models.Index(fields=["owner", "status"], name="opportunity_owner_status"),
            models.Index(fields=["status", "closed_on"], name="opportunity_status_closed"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.stage})"

    @property
    def weighted_fen(self) -> int:
        return self.amount_fen * self.probability // 100

    @property
    def amount_yuan(self) -> float:
        return self.amount_fen / 100


class OpportunityStageChange(ScopedModel):
    """One move of an opportunity's stage: from, to, who, when and why."""

    scope_resource: ClassVar[Resource] = Resource.OPPORTUNITY
    scope_org_path: ClassVar[str | None] = "opportunity__account__org_unit__path"
    scope_owner: ClassVar[str | None] = "opportunity__account__team_members__staff__user"

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="stage_changes",
    )
    # Blank for the opening entry (the stage it was created in).
    from_stage = models.CharField(
        _("from stage"), max_length=16, choices=OpportunityStage.choices, blank=True
    )
    to_stage = models.CharField(_("to stage"), max_length=16, choices=OpportunityStage.choices)
    probability = models.PositiveSmallIntegerField(_("probability (%)"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("opportunity stage change")
        verbose_name_plural = _("opportunity stage changes")
        ordering: ClassVar[list[str]] = ["opportunity", "changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage or '-'} → {self.to_stage}"


class EnterpriseOrder(ScopedModel):
    """A service request or order (业务受理/订单) of the CRM, one row of the warehouse's
    `enterprise_orders` table, copied after each import of it (services.orders.sync_orders) so
    the account page reads an account's orders by index instead of scanning the warehouse."""

    scope_resource: ClassVar[Resource] = Resource.OPPORTUNITY
    scope_org_path: ClassVar[str | None] = "account__org_unit__path"
    scope_owner: ClassVar[str | None] = "account__team_members__staff__user"

    order_id = models.CharField(_("order ID"), max_length=40, unique=True)
    # The warehouse's key, kept even while no account matches it (an order imported before its
    # enterprise): the sync links it when the account arrives.
    enterprise_id = models.CharField(_("enterprise ID"), max_length=40, db_index=True)
    account = models.ForeignKey(
        "enterprise.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    product = models.CharField(_("product"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=OrderKind.choices, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=OrderStatus.choices)
    is_open = models.BooleanField(_("open"), default=True)
    created_date = models.DateField(_("created on"))
    closed_date = models.DateField(_("closed on"), null=True, blank=True)
    amount_fen = models.BigIntegerField(_("amount (fen)"), default=0)

    class Meta:
        verbose_name = _("service order")
        verbose_name_plural = _("service orders")
        ordering: ClassVar[list[str]] = ["-is_open", "created_date", "order_id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["account", "is_open", "created_date"], name="enterprise_order_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status}"

    @property
    def amount_yuan(self) -> float:
        return self.amount_fen / 100

    def age_days(self, *, today: Any) -> int:
        end = self.closed_date or today
        return int((end - self.created_date).days)
