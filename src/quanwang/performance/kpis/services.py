"""Use cases of performance.kpis: saving a custom KPI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant
from quanwang.performance.kpis.catalogue import builtins
from quanwang.performance.kpis.custom import Definition, check_definition
from quanwang.performance.models import CustomKpi

_FIELDS = (
    "name", "unit", "direction", "aggregation", "over_time", "table", "measure", "column",
    "denominator_measure", "denominator_column", "description", "decimals",
)  # fmt: skip


def _same(record: CustomKpi, definition: Definition) -> bool:
    return Definition.of(record) == definition


def save_custom_kpi(*, user: Any, data: Definition | Mapping[str, Any]) -> CustomKpi:
    """Check and save a new custom KPI (KPI ADD, province-wide). Saving the same definition
    again (a double submit, a retry) gives the one saved; another definition under a code in use
    is refused, naming the code."""
    if not has_grant(user, resource=Resource.KPI, action=Action.ADD):
        raise NotFound()
    definition = check_definition(data, taken=tuple(builtins()))
    with transaction.atomic():
        existing = CustomKpi.objects.select_for_update().filter(code=definition.code).first()
        if existing is not None:
            if _same(existing, definition):
                return existing
            raise ServiceError(
                _("The code “%(code)s” is already used by another KPI.")
                % {"code": definition.code},
                field="code",
            )
        values = asdict(definition)
        try:
            with transaction.atomic():
                return CustomKpi.objects.create(
                    code=definition.code,
                    filters=list(values["filters"]),
                    denominator_filters=list(values["denominator_filters"]),
                    created_by=user if getattr(user, "pk", None) else None,
                    **{name: values[name] for name in _FIELDS},
                )
        except IntegrityError:
            # Another request saved the code meanwhile: the same definition is that one.
            record = CustomKpi.objects.get(code=definition.code)
            if _same(record, definition):
                return record
            raise ServiceError(
                _("The code “%(code)s” is already used by another KPI.")
                % {"code": definition.code},
                field="code",
            ) from None
