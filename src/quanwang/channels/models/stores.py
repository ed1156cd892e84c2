"""The store file (网点档案): one record per store of the warehouse's `stores` table, kept in
step with it by channels.stores.services.sync, plus what only the console knows: the partner
logins, the stage's history and the grades' history."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.channels.choices import PartnerStage, StoreGrade, StoreType
from quanwang.core.choices import Resource
from quanwang.core.querysets import ScopedModel

__all__ = ["Store"]


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
