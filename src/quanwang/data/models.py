"""Saved column mappings for importing foreign exports."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.core.choices import Resource
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import ScopedModel
from quanwang.data.schema import TABLES


class ImportMapping(ScopedModel):
    """A named, reusable mapping from a foreign export's columns to a canonical table.

    Names are unique per org unit, not across the platform: a name another org holds is no
    obstacle, so saving one reveals nothing about other orgs' mappings.
    """

    scope_resource: ClassVar[Resource] = Resource.IMPORT_MAPPING
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    name = models.CharField(_("name"), max_length=100)
    table = models.CharField(
        _("table"), max_length=40, choices=[(t.name, f"{t.zh} {t.name}") for t in TABLES.values()]
    )
    spec = models.JSONField(_("mapping"))
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), null=True, blank=True, on_delete=models.PROTECT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")
        ordering: ClassVar[list[str]] = ["name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["org_unit", "name"], name="unique_mapping_name_per_unit"
            ),
            # Mappings saved by the system (the CLI without a user) belong to no unit.
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(org_unit__isnull=True),
                name="unique_system_mapping_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.table}"
