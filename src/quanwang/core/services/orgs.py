"""The org tree: create, rename and bulk-load units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from quanwang.core.choices import ORG_LEVEL_DEPTH, Action, OrgLevel, Reach, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments

LEVEL_ALIASES: dict[str, OrgLevel] = {
    **{level.value: level for level in OrgLevel},
    "集团": OrgLevel.GROUP,
    "省": OrgLevel.GROUP,
    "省公司": OrgLevel.GROUP,
    "地市": OrgLevel.CITY,
    "市": OrgLevel.CITY,
    "区县": OrgLevel.COUNTY,
    "县": OrgLevel.COUNTY,
    "分局": OrgLevel.COUNTY,
    "网格": OrgLevel.GRID,
}


def units_granting(
    *, user: Any, resource: Resource, action: Action, only: Reach | None = None
) -> QuerySet[OrgUnit]:
    """Org units where `user` may `action` records of `resource` (for form choices); with
    `only`, the units of the grants of that reach alone (Reach.SUBTREE: the units whose
    every record the user reaches, not just their own)."""
    if getattr(user, "is_superuser", False):
        return OrgUnit.objects.all()
    prefixes = [
        a.org_unit.path
        for a in active_assignments(user)
        if (granted := reach(role=a.role, resource=resource, action=action)) is not None
        and (only is None or granted is only)
    ]
    if not prefixes:
        return OrgUnit.objects.none()
    q = Q()
    for prefix in prefixes:
        q |= Q(path__startswith=prefix)
    return OrgUnit.objects.filter(q)


def home_unit(*, user: Any, resource: Resource, action: Action) -> OrgUnit | None:
    """The highest org unit where `user` may `action` `resource`: where their new work belongs."""
    return units_granting(user=user, resource=resource, action=action).order_by("path").first()


def parse_level(value: str) -> OrgLevel:
    level = LEVEL_ALIASES.get(value.strip().lower()) or LEVEL_ALIASES.get(value.strip())
    if level is None:
        allowed = ", ".join(LEVEL_ALIASES)
        raise ServiceError(
            _("Unknown level %(value)r; use one of: %(allowed)s")
            % {"value": value, "allowed": allowed},
            field="level",
        )
    return level


def check_level_below(*, level: OrgLevel, parent: OrgUnit | None) -> None:
    if parent is None:
        if level is not OrgLevel.GROUP:
            raise ServiceError(_("Only a group/province unit can be a root."), field="parent")
        return
    if ORG_LEVEL_DEPTH[level] <= ORG_LEVEL_DEPTH[OrgLevel(parent.level)]:
        raise ServiceError(
            _("A %(level)s cannot sit under a %(parent)s.")
            % {"level": level.label, "parent": OrgLevel(parent.level).label},
            field="level",
        )


def _path(*, code: str, parent: OrgUnit | None) -> str:
    return f"{parent.path if parent else '/'}{code}/"


def create_org_unit(
    *,
    actor: Any,
    code: str,
    name: str,
    level: OrgLevel,
    parent: OrgUnit | None,
    name_en: str = "",
) -> OrgUnit:
    if parent is None:
        if actor is not None and not getattr(actor, "is_superuser", False):
            raise NotFound()
    elif (
        actor is not None
        and not OrgUnit.objects.restrict(actor, Action.ADD).filter(pk=parent.pk).exists()
    ):
        raise NotFound()
    check_level_below(level=level, parent=parent)
    if OrgUnit.objects.filter(code=code).exists():
        raise ServiceError(_("An org unit with this code already exists."), field="code")
    with transaction.atomic():
        return OrgUnit.objects.create(
            code=code,
            name=name,
            name_en=name_en,
            level=level,
            parent=parent,
            path=_path(code=code, parent=parent),
        )


def update_org_unit(*, actor: Any, org_unit: OrgUnit, name: str, name_en: str) -> OrgUnit:
    """Rename a unit. Codes never change: paths and imports key on them."""
    with transaction.atomic():
        locked = (
            OrgUnit.objects.restrict(actor, Action.CHANGE)
            .select_for_update()
            .filter(pk=org_unit.pk)
            .first()
        )
        if locked is None:
            raise NotFound()
        locked.name = name
        locked.name_en = name_en
        locked.save(update_fields=["name", "name_en", "updated_at"])
        return locked


@dataclass(frozen=True)
class OrgRow:
    row_number: int
    code: str
    name: str
    name_en: str
    level: OrgLevel
    parent_code: str


def upsert_org_rows(*, rows: list[OrgRow]) -> dict[str, int]:
    """Load validated rows, parents first, in one transaction. Same file twice: same tree."""
    created = updated = 0
    with transaction.atomic():
        by_code = {u.code: u for u in OrgUnit.objects.filter(code__in=[r.code for r in rows])}
        parents = {
            u.code: u
            for u in OrgUnit.objects.filter(code__in=[r.parent_code for r in rows if r.parent_code])
        }
        for row in sorted(rows, key=lambda r: ORG_LEVEL_DEPTH[r.level]):
            parent = parents.get(row.parent_code) if row.parent_code else None
            path = _path(code=row.code, parent=parent)
            unit = by_code.get(row.code)
            if unit is None:
                unit = OrgUnit.objects.create(
                    code=row.code,
                    name=row.name,
                    name_en=row.name_en,
                    level=row.level,
                    parent=parent,
                    path=path,
                )
                created += 1
            elif (unit.name, unit.name_en, unit.level, unit.parent_id, unit.path) != (
                row.name,
                row.name_en,
                row.level,
                parent.pk if parent else None,
                path,
            ):
                if unit.path != path:
                    raise ServiceError(
                        _("Row %(row)d: moving %(code)s to another parent is not supported.")
                        % {"row": row.row_number, "code": row.code},
                        field="parent_code",
                    )
                unit.name, unit.name_en, unit.level = row.name, row.name_en, row.level
                unit.save(update_fields=["name", "name_en", "level", "updated_at"])
                updated += 1
            parents[row.code] = unit
    return {"created": created, "updated": updated, "unchanged": len(rows) - created - updated}
