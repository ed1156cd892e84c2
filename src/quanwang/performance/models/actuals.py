"""Records of performance.actuals: who is responsible for which grid, store or enterprise
account, and since when (the staff attribution of the actuals)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.models import Staff
from quanwang.core.querysets import ScopedModel
from quanwang.performance.actuals.choices import ResponsibilityKind, ResponsibilitySource
from quanwang.performance.choices import Grain

__all__ = ["Responsibility"]


class Responsibility(ScopedModel):
    """One staff member holding one grid, store or account over an interval of days.

    Attribution by date of fact: a fact belongs to whoever held its grid, store or account on
    the fact's day (performance.actuals.attribution). A change of holder closes the old
    interval the day before and opens a new one, so a move mid-period splits the period's
    facts between the two by day. Intervals are never edited otherwise: they are the history.
    """

    scope_resource: ClassVar[Resource] = Resource.KPI
    scope_org_path: ClassVar[str | None] = "staff__org_unit__path"
    scope_owner: ClassVar[str | None] = "staff__user"

    staff = models.ForeignKey(
        Staff, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("responsibility"), max_length=24, choices=ResponsibilityKind.choices)
    # ORG_UNIT (a grid's code), STORE (store_id) or ACCOUNT (enterprise_id).
    grain = models.CharField(_("grain"), max_length=16, choices=Grain.choices)
    key = models.CharField(_("key"), max_length=64)
    # Null: held since before the first synchronisation (the whole history of facts).
    start = models.DateField(_("from"), null=True, blank=True)
    # Null: still held.
    end = models.DateField(_("until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=ResponsibilitySource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibilities")
        ordering: ClassVar[list[str]] = ["grain", "key", "start", "pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # A grid and an account have one holder at a time (two syncs racing open one).
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=Q(end__isnull=True)
                & Q(kind__in=[ResponsibilityKind.GRID_MANAGER, ResponsibilityKind.ACCOUNT_MANAGER]),
                name="one_open_holder_per_grid_or_account",
            ),
            # A clerk is assigned to a store once (a double submit creates one interval).
            models.UniqueConstraint(
                fields=["staff", "kind", "key"],
                condition=Q(end__isnull=True),
                name="one_open_responsibility_per_staff_key",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["grain", "key"], name="responsibility_grain_key"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.kind} {self.grain}:{self.key} {self.start}..{self.end}"
