"""Records of the commissions part (酬金): the rule sets and their rules, the monthly runs, and
one statement header per store and month.

A statement's lines are not rows here: a run writes every line of the month to one Parquet
file (channels.commissions.services.compute), and each statement names the file that holds its
lines. Millions of lines a month stay out of the operations database, as the warehouse keeps
big row sets; the header keeps the totals, the status and who computed and approved it.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.channels.choices import StoreType
from quanwang.channels.commissions.choices import RuleSetStatus, RunStatus, StatementStatus
from quanwang.core.choices import Resource
from quanwang.core.querysets import ScopedModel

__all__ = [
    "CommissionRule",
    "CommissionRuleSet",
    "CommissionRun",
    "CommissionStatement",
    "CommissionTier",
]


class CommissionRuleSet(ScopedModel):
    """A versioned set of commission rules (酬金规则), valid from `valid_from` to `valid_until`
    (open-ended when empty). Published, it is never edited; version N+1 of the same name
    supersedes it from its own first day (`superseded_on`)."""

    scope_resource: ClassVar[Resource] = Resource.CHANNEL_RULES
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    name = models.CharField(_("name"), max_length=100)
    version = models.PositiveIntegerField(_("version"), default=1)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RuleSetStatus.choices, default=RuleSetStatus.DRAFT
    )
    # From this day on a newer version of the set applies instead.
    superseded_on = models.DateField(_("superseded on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    org_unit = models.ForeignKey(
        "core.OrgUnit", verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("commission rule set")
        verbose_name_plural = _("commission rule sets")
        ordering: ClassVar[list[str]] = ["name", "-version"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["name", "version"], name="commission_ruleset_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class CommissionRule(models.Model):
    """One rule: what a sale of `product` earns, for one plan (or any) at one store type (or
    any), on the days it is valid (the set's days when empty).

    A fixed amount per sale, `upfront_share` of it paid in the sale's month and the rest
    `deferred_months` later if the line is still active; a share of the line's revenue in
    each of its first `revenue_months` months; the fixed parts clawed back when the line
    churns within `clawback_months` of the sale. Tiers replace the amount and share once the
    store's volume of the rule in the month reaches theirs."""

    rule_set = models.ForeignKey(
        CommissionRuleSet,
        verbose_name=_("rule set"),
        on_delete=models.CASCADE,
        related_name="rules",
    )
    product = models.CharField(_("product"), max_length=60)
    plan_id = models.CharField(_("plan ID"), max_length=40, blank=True)
    store_type = models.CharField(
        _("store type"), max_length=16, choices=StoreType.choices, blank=True
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    fixed_amount = models.DecimalField(
        _("fixed amount per sale"), default=0, max_digits=14, decimal_places=2
    )
    upfront_share = models.DecimalField(
        _("share paid on activation"), default=1, max_digits=7, decimal_places=4
    )
    deferred_months = models.PositiveSmallIntegerField(_("deferred part after months"), default=0)
    revenue_share = models.DecimalField(
        _("share of revenue"), default=0, max_digits=7, decimal_places=4
    )
    revenue_months = models.PositiveSmallIntegerField(_("revenue months"), default=0)
    clawback_months = models.PositiveSmallIntegerField(_("clawback within months"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        ordering: ClassVar[list[str]] = ["product", "store_type", "plan_id", "valid_from", "pk"]

    def __str__(self) -> str:
        return f"{self.product}/{self.store_type or '*'}/{self.plan_id or '*'}"


class CommissionTier(models.Model):
    """From `min_volume` sales of the rule by one store in one month, every one of them earns
    this tier's amount and share instead of the rule's."""

    rule = models.ForeignKey(
        CommissionRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="tiers"
    )
    min_volume = models.PositiveIntegerField(_("from monthly volume"))
    fixed_amount = models.DecimalField(
        _("fixed amount per sale"), default=0, max_digits=14, decimal_places=2
    )
    revenue_share = models.DecimalField(
        _("share of revenue"), default=0, max_digits=7, decimal_places=4
    )

    class Meta:
        verbose_name = _("commission tier")
        verbose_name_plural = _("commission tiers")
        ordering: ClassVar[list[str]] = ["rule", "min_volume"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["rule", "min_volume"], name="commission_tier_volume")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}≥{self.min_volume}"


class CommissionRun(models.Model):
    """The month's run: one row a month, the lock two runs of the same month meet on (the
    second waits for the row, then finds it computing and stops). `token` names this attempt:
    a run whose token was replaced writes nothing."""

    month = models.CharField(_("month"), max_length=7, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.COMPUTING
    )
    token = models.CharField(max_length=32, blank=True)
    job = models.ForeignKey(
        "core.Job", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Relative to VAR_DIR: the last attempt's lines file and its SHA-256.
    lines_path = models.CharField(max_length=300, blank=True)
    lines_sha256 = models.CharField(max_length=64, blank=True)
    # Counts of what the run read and wrote, and the warehouse versions it read.
    figures = models.JSONField(_("figures"), default=dict, blank=True)

    class Meta:
        verbose_name = _("commission run")
        verbose_name_plural = _("commission runs")
        ordering: ClassVar[list[str]] = ["-month"]

    def __str__(self) -> str:
        return self.month


class CommissionStatement(ScopedModel):
    """A store's monthly statement (酬金结算单): the header and totals of its lines, which live
    in the Parquet file `lines_path` (relative to VAR_DIR) under its store and month."""

    scope_resource: ClassVar[Resource] = Resource.COMMISSION
    scope_org_path: ClassVar[str | None] = "store__org_unit__path"
    # A partner's login reads its own stores' statements (Reach.OWN).
    scope_owner: ClassVar[str | None] = "store__partners"

    run = models.ForeignKey(
        CommissionRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="statements"
    )
    store = models.ForeignKey(
        "channels.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="commission_statements",
    )
    month = models.CharField(_("month"), max_length=7)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=StatementStatus.choices,
        default=StatementStatus.COMPUTED,
    )
    lines_path = models.CharField(max_length=300)
    # SHA-256 of the statement's lines in their canonical text (compute.LINE_TEXT): equal
    # fingerprints, equal lines.
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    note_count = models.PositiveIntegerField(_("facts without commission"), default=0)
    total = models.DecimalField(_("total"), default=0, max_digits=14, decimal_places=2)
    adjustment_total = models.DecimalField(
        _("adjustments"), default=0, max_digits=14, decimal_places=2
    )
    deduction_total = models.DecimalField(
        _("deductions"), default=0, max_digits=14, decimal_places=2
    )
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("computed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    computed_at = models.DateTimeField(_("computed at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("commission statement")
        verbose_name_plural = _("commission statements")
        ordering: ClassVar[list[str]] = ["-month", "store__store_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["store", "month"], name="commission_statement_month")
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["month", "status"])]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month}"

    @property
    def frozen(self) -> bool:
        return self.status == StatementStatus.APPROVED
