"""The KPI catalogue: the built-in KPIs (builtin_customers, builtin_operations) and the active
custom ones (custom, CustomKpi), each a KpiDefinition (definitions.py).

Every built-in KPI has `facts`: one row per fact with its own numerator and denominator, and
`build` is their sums per (grain, key, org_unit, day); each fact counts in exactly one base
row (a grid, a store, an account or, for what a person did, a staff member), so rolling the
base rows up to their units' ancestors never counts a fact twice.
"""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.performance.kpis.builtin_customers import customer_kpis
from quanwang.performance.kpis.builtin_operations import operation_kpis
from quanwang.performance.kpis.definitions import KpiDefinition

logger = logging.getLogger(__name__)


class KpiNotFound(ServiceError, LookupError):
    """No KPI of that code (built-in or active custom)."""

    def __init__(self, code: str) -> None:
        super().__init__(_("There is no KPI “%(code)s”.") % {"code": code}, field="kpi")
        self.code = code


_BUILTINS: dict[str, KpiDefinition] | None = None


def builtins() -> dict[str, KpiDefinition]:
    """code → the built-in KPIs, in the catalogue's order."""
    global _BUILTINS
    if _BUILTINS is None:
        _BUILTINS = {k.code: k for k in (*customer_kpis(), *operation_kpis())}
    return _BUILTINS


def custom_kpis() -> dict[str, KpiDefinition]:
    """code → the active custom KPIs (a saved definition that no longer checks is left out and
    logged: the table it read was dropped, say)."""
    from quanwang.performance.kpis.custom import Definition, to_kpi
    from quanwang.performance.models import CustomKpi

    found: dict[str, KpiDefinition] = {}
    for record in CustomKpi.objects.filter(active=True).order_by("code"):
        try:
            found[record.code] = to_kpi(Definition.of(record))
        except Exception:
            logger.exception("custom KPI %s could not be built", record.code)
    return found


def catalogue() -> dict[str, KpiDefinition]:
    """code → every KPI: the built-ins, then the active custom ones."""
    return {**builtins(), **custom_kpis()}


def get(code: str) -> KpiDefinition:
    """The KPI of `code`; KpiNotFound (its message names the code) otherwise."""
    found = builtins().get(code)
    if found is not None:
        return found
    found = custom_kpis().get(code)
    if found is None:
        raise KpiNotFound(code)
    return found


def missing_inputs(definition: KpiDefinition) -> list[str]:
    """The fact tables `definition` reads that are absent now (not loaded into the warehouse,
    or no snapshot for a snapshot table): a target on such a KPI is refused."""
    from quanwang.performance.kpis.facts import available

    present = available()
    return [name for name in definition.inputs if name not in present]
