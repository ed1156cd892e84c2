"""Records of performance.targets: SMART targets and their history."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import WarningDelivery
from quanwang.core.choices import Resource
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.querysets import ScopedModel
from quanwang.performance.choices import Grain
from quanwang.performance.targets.choices import ChangeKind

__all__ = ["Target", "TargetChange", "TargetWarning"]


class Target(ScopedModel):
    """A KPI's target for one unit, staff member, store or enterprise account over a period
    (month, quarter or year), with its deadline. Set at the top and decomposed down: a child's
    `parent` is the target it was decomposed from."""

    scope_resource: ClassVar[Resource] = Resource.TARGET
    scope_org_path: ClassVar[str | None] = "org_unit__path"
    # A staff member reads their own targets (Reach.OWN).
    scope_owner: ClassVar[str | None] = "staff__user"

    kpi = models.CharField(_("KPI"), max_length=64)
    period = models.CharField(_("period"), max_length=8)
    grain = models.CharField(_("grain"), max_length=16, choices=Grain.choices)
    # The unit's code, the staff member's employee number, the store_id or the enterprise_id.
    key = models.CharField(_("key"), max_length=64)
    # The unit the target belongs to: the unit itself, or the unit of the staff member, store
    # or account (who may read and set it follows from this).
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="+"
    )
    staff = models.ForeignKey(
        Staff,
        verbose_name=_("staff member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("decomposed from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    value = models.DecimalField(_("target"), max_digits=20, decimal_places=4)
    deadline = models.DateField(_("deadline"))
    # A locked target keeps its value when its parent is decomposed again or a sibling moves.
    locked = models.BooleanField(_("locked"), default=False)
    # How this target's children were made (targets.choices.Rule; blank: not decomposed) and,
    # for a rule over another KPI (by potential), which one: a re-decomposition repeats it.
    rule = models.CharField(_("decomposition rule"), max_length=16, blank=True)
    basis_kpi = models.CharField(_("basis KPI"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering: ClassVar[list[str]] = ["kpi", "period", "org_unit__path", "grain", "key"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["kpi", "period", "grain", "key"], name="one_target_per_kpi_period_key"
            )
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["period", "grain", "key"], name="target_period_grain_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} {self.period} {self.grain}:{self.key}"


class TargetChange(ScopedModel):
    """One change of a target's value: who, when, why, from what to what (history is kept)."""

    scope_resource: ClassVar[Resource] = Resource.TARGET
    scope_org_path: ClassVar[str | None] = "target__org_unit__path"
    scope_owner: ClassVar[str | None] = "target__staff__user"

    target = models.ForeignKey(
        Target, verbose_name=_("target"), on_delete=models.CASCADE, related_name="changes"
    )
    before = models.DecimalField(
        _("before"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    after = models.DecimalField(_("after"), max_digits=20, decimal_places=4)
    # What made the change: set, decomposed (by which rule), moved by hand, balanced against a
    # sibling's change (targets.choices.ChangeKind).
    kind = models.CharField(_("kind"), max_length=32, choices=ChangeKind.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("target change")
        verbose_name_plural = _("target changes")
        ordering: ClassVar[list[str]] = ["-changed_at", "-pk"]


class TargetWarning(ScopedModel):
    """A target behind its pace (预警), raised at most once a day per target, with whom it was
    sent to (the same delivery record as campaigns.EarlyWarning.delivered)."""

    scope_resource: ClassVar[Resource] = Resource.TARGET
    scope_org_path: ClassVar[str | None] = "target__org_unit__path"
    scope_owner: ClassVar[str | None] = "target__staff__user"

    target = models.ForeignKey(
        Target, verbose_name=_("target"), on_delete=models.CASCADE, related_name="warnings"
    )
    day = models.DateField(_("day"))
    pace = models.FloatField(_("pace"))
    actual = models.FloatField(_("actual"))
    expected = models.FloatField(_("expected by now"))
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
        verbose_name = _("target warning")
        verbose_name_plural = _("target warnings")
        ordering: ClassVar[list[str]] = ["-day", "target__org_unit__path"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["target", "day"], name="one_target_warning_a_day")
        ]
