"""Records of performance.incentives: versioned incentive rule sets and monthly statements
kept as a ledger (lines in the database, pinned to the actuals version they were read from)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.querysets import ScopedModel
from quanwang.performance.choices import Grain
from quanwang.performance.incentives.choices import LineKind, RoleKind, StatementStatus

__all__ = ["IncentiveLine", "IncentiveRuleSet", "IncentiveStatement"]


class IncentiveRuleSet(ScopedModel):
    """One version of the incentive rules (考核激励规则) of a role kind, valid from `valid_from`
    to `valid_until` (open-ended when empty). The versions of a role kind follow each other
    without overlap or gap (services.rules). `rules` is the JSON checked by
    services.schema.RuleBody. Kept by the province (INCENTIVE CHANGE); read by everyone who
    reads incentives, so a staff member can check how their statement was computed."""

    scope_resource: ClassVar[Resource] = Resource.INCENTIVE
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    role_kind = models.CharField(_("role kind"), max_length=32, choices=RoleKind.choices)
    version = models.PositiveIntegerField(_("version"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    rules = models.JSONField(_("rules"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    # The unit that keeps the rules (the province).
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("incentive rule set")
        verbose_name_plural = _("incentive rule sets")
        ordering: ClassVar[list[str]] = ["role_kind", "valid_from"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["role_kind", "version"], name="incentive_rules_version")
        ]

    def __str__(self) -> str:
        return f"{self.role_kind} v{self.version}"


class IncentiveStatement(ScopedModel):
    """A staff member's incentive statement of a month (激励结算单): the header and totals of
    its lines. Approved, it is frozen; later corrections come as adjustment lines of a later
    month's statement."""

    scope_resource: ClassVar[Resource] = Resource.INCENTIVE
    scope_org_path: ClassVar[str | None] = "org_unit__path"
    # A staff member reads their own statements (Reach.OWN).
    scope_owner: ClassVar[str | None] = "staff__user"

    staff = models.ForeignKey(
        Staff, verbose_name=_("staff member"), on_delete=models.PROTECT, related_name="+"
    )
    # The staff member's unit when computed (who may read and approve it follows from this).
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="+"
    )
    month = models.CharField(_("month"), max_length=7)
    role_kind = models.CharField(_("role kind"), max_length=32, choices=RoleKind.choices)
    rule_set = models.ForeignKey(
        IncentiveRuleSet, verbose_name=_("rule set"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=StatementStatus.choices,
        default=StatementStatus.COMPUTED,
    )
    # The actuals version the figures were read from, its business day and snapshot.
    actuals_version = models.CharField(_("actuals version"), max_length=64)
    as_of = models.DateField(_("figures as of"))
    snapshot = models.CharField(_("snapshot"), max_length=64, blank=True)
    # SHA-256 of the lines in their canonical text: equal fingerprints, equal lines.
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    adjustment_total = models.DecimalField(
        _("adjustments"), max_digits=14, decimal_places=2, default=0
    )
    deduction_total = models.DecimalField(
        _("deductions"), max_digits=14, decimal_places=2, default=0
    )
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("computed by"),
        null=True,
        blank=True,
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
        verbose_name = _("incentive statement")
        verbose_name_plural = _("incentive statements")
        ordering: ClassVar[list[str]] = ["-month", "org_unit__path", "staff__employee_no"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["staff", "month"], name="one_incentive_statement")
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.month}"


class IncentiveLine(models.Model):
    """One line of a statement: what it pays or takes and the figure it follows from (KPI,
    grain, key, period: the KPI drill-down shows the facts behind it). Read through its
    statement (never on its own), so it is scoped by the statement."""

    statement = models.ForeignKey(
        IncentiveStatement,
        verbose_name=_("statement"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    line_no = models.PositiveIntegerField(_("line"))
    kind = models.CharField(_("kind"), max_length=16, choices=LineKind.choices)
    # The month the line pays for: the statement's own, or an earlier one it adjusts.
    for_month = models.CharField(_("for month"), max_length=7)
    kpi = models.CharField(_("KPI"), max_length=64, blank=True)
    grain = models.CharField(_("grain"), max_length=16, choices=Grain.choices, blank=True)
    key = models.CharField(_("key"), max_length=64, blank=True)
    period = models.CharField(_("period"), max_length=8, blank=True)
    # The figure (a KPI value, an attainment, a coefficient) and the rate or share applied.
    quantity = models.DecimalField(
        _("quantity"), max_digits=20, decimal_places=6, null=True, blank=True
    )
    rate = models.DecimalField(_("rate"), max_digits=20, decimal_places=6, null=True, blank=True)
    share = models.DecimalField(_("share"), max_digits=12, decimal_places=6, null=True, blank=True)
    # What the line applies to (the base a multiplier or coefficient scales, or what a cap
    # cuts), and what was already paid for an adjusted month.
    base = models.DecimalField(_("base"), max_digits=14, decimal_places=2, null=True, blank=True)
    paid_before = models.DecimalField(
        _("paid before"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("incentive line")
        verbose_name_plural = _("incentive lines")
        ordering: ClassVar[list[str]] = ["statement", "line_no"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["statement", "line_no"], name="incentive_line_no")
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}#{self.line_no}"
