"""Records of performance.kpis: custom KPIs, defined without code (performance.kpis.custom)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.querysets import ScopedModel
from quanwang.performance.choices import Aggregation, Direction, OverTime
from quanwang.performance.kpis.choices import Measure

__all__ = ["CustomKpi"]


class CustomKpi(ScopedModel):
    """A KPI added without code: a measure over one fact table with filters, checked at save
    (custom.check_definition). Province-wide: every reader of KPIs sees the definition, and
    its values are narrowed like every KPI value (performance.access)."""

    scope_resource: ClassVar[Resource] = Resource.KPI

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    aggregation = models.CharField(_("aggregation"), max_length=8, choices=Aggregation.choices)
    over_time = models.CharField(_("over time"), max_length=8, choices=OverTime.choices)
    table = models.CharField(_("fact table"), max_length=40)
    measure = models.CharField(_("measure"), max_length=16, choices=Measure.choices)
    column = models.CharField(_("measure column"), max_length=60, blank=True)
    denominator_measure = models.CharField(
        _("denominator measure"), max_length=16, choices=Measure.choices, blank=True
    )
    denominator_column = models.CharField(_("denominator column"), max_length=60, blank=True)
    denominator_filters = models.JSONField(_("denominator filters"), default=list, blank=True)
    #: [{"column": …, "op": FilterOp, "value": …}], all of which a row must meet.
    filters = models.JSONField(_("filters"), default=list, blank=True)
    description = models.TextField(_("description"), blank=True)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("custom KPI")
        verbose_name_plural = _("custom KPIs")
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
