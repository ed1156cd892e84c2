"""Use cases of the data app: saving mappings and starting imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, JobKind
from quanwang.core.errors import ServiceError
from quanwang.core.models import Job, OrgUnit
from quanwang.core.services.jobs import start_job
from quanwang.data.mapping import MappingError, validate_spec
from quanwang.data.models import ImportMapping
from quanwang.data.schema import TABLES


def save_mapping(
    *, actor: Any, name: str, table: str, spec: dict[str, Any], org_unit: OrgUnit | None
) -> ImportMapping:
    """Create or replace a named mapping after checking it against the table."""
    if table not in TABLES:
        raise ServiceError(_("Unknown table %(t)s.") % {"t": table}, field="table")
    try:
        validate_spec(table=TABLES[table], spec=spec)
    except MappingError as exc:
        raise ServiceError(str(exc), field="spec") from exc
    with transaction.atomic():
        existing = ImportMapping.objects.filter(name=name).first()
        outside = (
            existing is not None
            and actor is not None
            and not ImportMapping.objects.restrict(actor, Action.CHANGE)
            .filter(pk=existing.pk)
            .exists()
        )
        if outside:
            raise ServiceError(_("A mapping of this name exists outside your scope."), field="name")
        mapping, _created = ImportMapping.objects.update_or_create(
            name=name,
            defaults={"table": table, "spec": spec, "org_unit": org_unit, "created_by": actor},
        )
    return mapping


def mapping_spec(*, actor: Any, name: str) -> dict[str, Any]:
    queryset = (
        ImportMapping.objects.all() if actor is None else ImportMapping.objects.restrict(actor)
    )
    mapping = queryset.filter(name=name).first()
    if mapping is None:
        raise ServiceError(_("No mapping named %(n)s.") % {"n": name}, field="mapping")
    return dict(mapping.spec)


def start_import(
    *,
    actor: Any,
    table: str,
    path: Path,
    filename: str,
    org_unit: OrgUnit | None,
    encoding: str | None = None,
    mapping_name: str | None = None,
    background: bool = True,
) -> Job:
    if table not in TABLES:
        raise ServiceError(_("Unknown table %(t)s.") % {"t": table}, field="table")
    if mapping_name:
        mapping_spec(actor=actor, name=mapping_name)
    return start_job(
        actor=actor,
        kind=JobKind.IMPORT_TABLE,
        org_unit=org_unit,
        params={
            "table": table,
            "path": str(path),
            "filename": filename,
            "encoding": encoding,
            "mapping": mapping_name,
        },
        background=background,
    )
