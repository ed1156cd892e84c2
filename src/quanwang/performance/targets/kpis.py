"""The KPI definitions targets read: looked up in the catalogue (performance.kpis.catalogue),
with the refusals a target needs (unknown KPI, a missing fact table, a grain it lacks), each
naming the field at fault."""

from __future__ import annotations

from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.performance.choices import Grain
from quanwang.performance.kpis import catalogue
from quanwang.performance.kpis.definitions import KpiDefinition

#: Definitions added by hand (tests register KPIs of their own here); the catalogue's come
#: after them.
EXTRA: dict[str, KpiDefinition] = {}


def find(code: str) -> KpiDefinition | None:
    """The definition of `code`, or None when no KPI has that code."""
    if code in EXTRA:
        return EXTRA[code]
    try:
        return catalogue.get(code)
    except catalogue.KpiNotFound:
        return None


def missing_inputs(definition: KpiDefinition) -> list[str]:
    """The fact tables `definition` reads that the warehouse does not hold (none: computable)."""
    return list(catalogue.missing_inputs(definition))


def definition(code: str) -> KpiDefinition:
    """The KPI `code`; ServiceError naming the field "kpi" when there is none."""
    found = find(code)
    if found is None:
        raise ServiceError(_("There is no KPI “%(code)s”.") % {"code": code}, field="kpi")
    return found


def targetable(code: str, *, grain: Grain | str) -> KpiDefinition:
    """The KPI `code`, checked to take a target at `grain`: refused (naming the field) when it
    is unknown, when a fact table it reads is missing (named), or when it lacks the grain."""
    found = definition(code)
    missing = missing_inputs(found)
    if missing:
        raise ServiceError(
            _(
                "KPI “%(name)s” cannot take a target: its fact table %(tables)s is missing "
                "from the warehouse."
            )
            % {"name": found.name, "tables": "、".join(missing)},
            field="kpi",
        )
    try:
        wanted = Grain(grain)
    except ValueError:
        raise ServiceError(_("Choose what the target is for."), field="grain") from None
    if wanted not in found.grains:
        raise ServiceError(
            _("KPI “%(name)s” has no figures for a %(grain)s.")
            % {"name": found.name, "grain": wanted.label},
            field="grain",
        )
    return found
