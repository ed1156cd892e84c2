"""Records of performance.boards: the composite scores a board may rank by."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import ScopedModel

__all__ = ["CompositeScore"]


class CompositeScore(ScopedModel):
    """A composite score: weights per KPI code. Each KPI is scored by the attainment of its
    target, or by its value relative to the best on the board where there is no target; the
    score is the weighted mean (docs/performance/boards.md). Kept by the province
    (LEADERBOARD CHANGE over `org_unit`, the unit that keeps it: the top of the tree)."""

    scope_resource: ClassVar[Resource] = Resource.LEADERBOARD
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    # {"revenue": 40, "net_adds": 30, ...}: KPI code → weight (positive numbers; normalised).
    weights = models.JSONField(_("weights"), default=dict)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("kept by"), on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("composite score")
        verbose_name_plural = _("composite scores")
        ordering: ClassVar[list[str]] = ["code"]

    def __str__(self) -> str:
        return self.name
