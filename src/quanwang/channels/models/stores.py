"""The store file (网点档案): one record per store of the warehouse's `stores` table, kept in
step with it by channels.stores.services.sync, plus what only the console knows: the partner
logins, the stage's history and the grades' history."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.channels.choices import (
    PartnerStage,
    SalesMeasure,
    StageSource,
    StoreGrade,
    StoreType,
)
from quanwang.core.choices import Resource
from quanwang.core.querysets import ScopedModel

__all__ = [
    "CoverageTarget",
    "GradingRuleSet",
    "GradingRun",
    "StageChange",
    "Store",
    "StoreGrading",
]


class Store(ScopedModel):
    scope_resource: ClassVar[Resource] = Resource.STORE
    scope_org_path: ClassVar[str | None] = "org_unit__path"
    # A partner's login reaches the stores it is a partner of (Reach.OWN).
    scope_owner: ClassVar[str | None] = "partners"

    store_id = models.CharField(_("store ID"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    store_type = models.CharField(_("type"), max_length=16, choices=StoreType.choices)
    grade = models.CharField(_("grade"), max_length=16, choices=StoreGrade.choices, blank=True)
    # The store's grid (an org unit of level grid) when it has one that exists, else the
    # nearest unit above that does: scoping reads it.
    org_unit = models.ForeignKey(
        "core.OrgUnit",
        verbose_name=_("org unit"),
        on_delete=models.PROTECT,
        related_name="stores",
    )
    grid_id = models.CharField(_("grid ID"), max_length=40, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    owner_name = models.CharField(_("owner"), max_length=100, blank=True)
    contact_msisdn = models.CharField(_("contact number"), max_length=20, blank=True)
    partner_stage = models.CharField(
        _("partner stage"), max_length=16, choices=PartnerStage.choices, blank=True
    )
    opened_date = models.DateField(_("opened"), null=True, blank=True)
    # Whether the newest import of the warehouse's stores table still lists the store.
    active = models.BooleanField(_("active"), default=True)
    partners = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("partner logins"),
        blank=True,
        related_name="partner_stores",
    )
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering: ClassVar[list[str]] = ["store_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.store_id})"


class StageChange(ScopedModel):
    """One move of a partner's relationship stage: who decided it, when and why, next to what
    the system suggested then and the facts it read (channels.stores.stages). Written once."""

    scope_resource: ClassVar[Resource] = Resource.STORE
    scope_org_path: ClassVar[str | None] = "store__org_unit__path"
    scope_owner: ClassVar[str | None] = "store__partners"

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(
        _("from stage"), max_length=16, choices=PartnerStage.choices, blank=True
    )
    to_stage = models.CharField(_("to stage"), max_length=16, choices=PartnerStage.choices)
    suggested_stage = models.CharField(
        _("suggested stage"), max_length=16, choices=PartnerStage.choices, blank=True
    )
    # The criteria as they stood (stages.StageAssessment.as_json), so the history reads the
    # same after the facts move on.
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    source = models.CharField(
        _("source"), max_length=16, choices=StageSource.choices, default=StageSource.CONSOLE
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering: ClassVar[list[str]] = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.store_id}: {self.from_stage or '-'} → {self.to_stage}"


class GradingRuleSet(models.Model):
    """One version of the province's grading rules (三店). A version is never changed once
    saved: editing saves the next version, and each month's grades name the version they
    used. The newest version is the one in force. Weights are percentages that sum to 100;
    each criterion scores 0–100, so a store's score is 0–100 too (channels.stores.grading).

    Province-wide, so not scoped by org unit: everyone with a CHANNEL_RULES grant reads it;
    saving needs the grant at the root (channels.stores.rules)."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    sales_measure = models.CharField(
        _("sales measured by"),
        max_length=16,
        choices=SalesMeasure.choices,
        default=SalesMeasure.REVENUE,
    )
    weight_sales = models.PositiveSmallIntegerField(_("weight of sales (%)"))
    weight_footfall = models.PositiveSmallIntegerField(_("weight of footfall (%)"))
    weight_conversion = models.PositiveSmallIntegerField(_("weight of conversion (%)"))
    weight_location = models.PositiveSmallIntegerField(_("weight of location (%)"))
    weight_growth = models.PositiveSmallIntegerField(_("weight of growth (%)"))
    # A score at or above key_min is a key store; at or above anchor_min an anchor store.
    key_min = models.PositiveSmallIntegerField(_("key store from score"))
    anchor_min = models.PositiveSmallIntegerField(_("anchor store from score"))
    # Points (0–100) of a store's location by its grid's type; other or no grid: the default.
    location_points = models.JSONField(_("location points by grid type"), default=dict)
    location_default = models.PositiveSmallIntegerField(_("location points otherwise"))
    # Growth compares the month's sales with the average of this many months before it.
    growth_months = models.PositiveSmallIntegerField(_("growth against months before"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        verbose_name = _("grading rule set")
        verbose_name_plural = _("grading rule sets")
        ordering: ClassVar[list[str]] = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class GradingRun(models.Model):
    """The grading of one month: which rule set, when, by whom, how many of each grade. One
    row a month, locked while a run writes, so two runs at once take turns."""

    month = models.CharField(_("month"), max_length=7, unique=True)
    rule_set = models.ForeignKey(
        GradingRuleSet, verbose_name=_("rule set"), on_delete=models.PROTECT, related_name="runs"
    )
    stores = models.PositiveIntegerField(_("stores graded"), default=0)
    by_grade = models.JSONField(_("stores by grade"), default=dict)
    ran_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("run by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ran_at = models.DateTimeField(_("run at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), default=0)

    class Meta:
        verbose_name = _("grading run")
        verbose_name_plural = _("grading runs")
        ordering: ClassVar[list[str]] = ["-month"]

    def __str__(self) -> str:
        return self.month


class StoreGrading(ScopedModel):
    """A store's grade for one month, with its reason: each criterion's value, points, weight
    and contribution, and the cut-offs it was held against. One row per store and month: a
    re-run of the month rewrites it with the same values."""

    scope_resource: ClassVar[Resource] = Resource.STORE
    scope_org_path: ClassVar[str | None] = "store__org_unit__path"
    scope_owner: ClassVar[str | None] = "store__partners"

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="gradings"
    )
    month = models.CharField(_("month"), max_length=7)
    grade = models.CharField(_("grade"), max_length=16, choices=StoreGrade.choices)
    previous_grade = models.CharField(
        _("previous grade"), max_length=16, choices=StoreGrade.choices, blank=True
    )
    score = models.FloatField(_("score"))
    rule_set = models.ForeignKey(
        GradingRuleSet,
        verbose_name=_("rule set"),
        on_delete=models.PROTECT,
        related_name="gradings",
    )
    # {criterion: {"value": raw figure or null, "points": 0-100, "weight": %, "contribution":
    #  points × weight / 100}} and {"key_min": …, "anchor_min": …}.
    criteria = models.JSONField(_("criteria"), default=dict)
    cutoffs = models.JSONField(_("cut-offs"), default=dict)
    graded_at = models.DateTimeField(_("graded at"), auto_now=True)

    class Meta:
        verbose_name = _("store grading")
        verbose_name_plural = _("store gradings")
        ordering: ClassVar[list[str]] = ["-month", "store_id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["store", "month"], name="channels_one_grade_a_month")
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.month}: {self.grade}"


class CoverageTarget(models.Model):
    """How many stores of each grade a grid of a type should have (e.g. each 沿街 grid at least
    1 key, 2 anchor and 5 small stores). Province-wide, like the grading rules."""

    grid_type = models.CharField(_("grid type"), max_length=16, unique=True)
    key_min = models.PositiveSmallIntegerField(_("key stores at least"), default=0)
    anchor_min = models.PositiveSmallIntegerField(_("anchor stores at least"), default=0)
    small_min = models.PositiveSmallIntegerField(_("small stores at least"), default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("coverage target")
        verbose_name_plural = _("coverage targets")
        ordering: ClassVar[list[str]] = ["grid_type"]

    def __str__(self) -> str:
        return self.grid_type
