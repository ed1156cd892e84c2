"""Use cases of the data app: saving mappings and starting imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, JobKind, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job, OrgUnit
from quanwang.core.querysets import active_assignments
from quanwang.core.services.jobs import start_job
from quanwang.core.services.orgs import units_granting
from quanwang.data.import_scope import import_scope
from quanwang.data.mapping import MappingError, validate_spec
from quanwang.data.models import ImportMapping
from quanwang.data.schema import TABLES
from quanwang.data.sources import ReadOptions


def save_mapping(
    *,
    actor: Any,
    name: str,
    table: str,
    spec: dict[str, Any],
    org_unit: OrgUnit | None,
    replace: bool = True,
) -> ImportMapping:
    """Create the mapping `name` of `org_unit`, or (with `replace`) change the one it holds.

    Names are unique per org unit: whatever other orgs have named their mappings makes no
    difference here, so nothing about them can be learnt by saving one. The system (`actor`
    None: the CLI without a user) saving to a unit takes over a unit-less mapping of that name
    (one saved before the org tree existed), so that one name means one mapping.
    """
    if table not in TABLES:
        raise ServiceError(_("Unknown table %(t)s.") % {"t": table}, field="table")
    try:
        validate_spec(table=TABLES[table], spec=spec)
    except MappingError as exc:
        raise ServiceError(str(exc), field="spec") from exc
    if actor is not None and not getattr(actor, "is_superuser", False):
        # A mapping belongs to a unit where the actor may add mappings, and to no other.
        allowed = units_granting(user=actor, resource=Resource.IMPORT_MAPPING, action=Action.ADD)
        if org_unit is None or not allowed.filter(pk=org_unit.pk).exists():
            raise NotFound()
    with transaction.atomic():
        existing = ImportMapping.objects.select_for_update().filter(org_unit=org_unit, name=name)
        mapping = existing.first()
        if mapping is None and actor is None and org_unit is not None:
            mapping = (
                ImportMapping.objects.select_for_update().filter(org_unit=None, name=name).first()
            )
            if mapping is not None:
                mapping.org_unit = org_unit
                mapping.save(update_fields=["org_unit"])
        if mapping is not None and not replace:
            raise ServiceError(_("A mapping with this name exists; edit it instead."), field="name")
        if mapping is None:
            return ImportMapping.objects.create(
                name=name, table=table, spec=spec, org_unit=org_unit, created_by=actor
            )
        mapping.table, mapping.spec = table, spec
        mapping.save(update_fields=["table", "spec", "updated_at"])
    return mapping


def find_mapping(*, actor: Any, name: str | None = None, pk: int | None = None) -> ImportMapping:
    """A mapping `actor` may see (None: the system sees all), by ID or by name.

    Several orgs in the actor's scope may use one name: the one held at the actor's own unit
    wins (the deepest where they hold several roles); otherwise the name must be unambiguous.
    """
    visible = (
        ImportMapping.objects.all() if actor is None else ImportMapping.objects.restrict(actor)
    )
    if pk is not None:
        mapping = visible.filter(pk=pk).first()
        if mapping is None:
            raise ServiceError(_("No such mapping."), field="mapping")
        return mapping
    found = list(visible.filter(name=name).select_related("org_unit"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise ServiceError(_("No mapping named %(n)s.") % {"n": name}, field="mapping")
    own = [] if actor is None else [a.org_unit.pk for a in active_assignments(actor)]
    by_unit = {m.org_unit_id: m for m in found}
    for unit_pk in [*reversed(own), None]:
        if unit_pk in by_unit:
            return by_unit[unit_pk]
    units = ", ".join(sorted(m.org_unit.name for m in found if m.org_unit is not None))
    raise ServiceError(
        _("Several mappings named %(n)s are in your scope (%(units)s); choose one in the console.")
        % {"n": name, "units": units},
        field="mapping",
    )


def start_import(
    *,
    actor: Any,
    table: str,
    path: Path,
    filename: str,
    org_unit: OrgUnit | None,
    options: ReadOptions | None = None,
    mapping_name: str | None = None,
    mapping_id: int | None = None,
    allow_empty: bool = False,
    confirm_replace: bool = False,
    background: bool = True,
) -> Job:
    """Queue (or with background=False, create for running here) an import of `path` into the
    warehouse table `table`, if `actor` may import it (data.import_scope); the job checks again
    when it runs, and keeps to the actor's rows."""
    if table not in TABLES:
        raise ServiceError(_("Unknown table %(t)s.") % {"t": table}, field="table")
    import_scope(user=actor, table=TABLES[table])
    mapping = None
    if mapping_id is not None or mapping_name:
        mapping = find_mapping(actor=actor, name=mapping_name, pk=mapping_id)
        if mapping.table != table:
            raise ServiceError(_("This mapping is for another table."), field="mapping")
    return start_job(
        actor=actor,
        kind=JobKind.IMPORT_TABLE,
        org_unit=org_unit,
        params={
            "table": table,
            "path": str(path),
            "filename": filename,
            **(options or ReadOptions()).as_params(),
            "mapping": mapping.name if mapping else None,
            "allow_empty": allow_empty,
            "confirm_replace": confirm_replace,
            "mapping_id": mapping.pk if mapping else None,
            # Who the rows are checked against when the job runs: a job whose user is gone
            # must not run as the system. The scope chosen in the console narrows it too.
            "actor_id": getattr(actor, "pk", None),
            "scope_id": getattr(actor, "quanwang_scope_id", None),
        },
        background=background,
    )
