"""Columns other apps add to the customer wide table, one row per subscriber they know about
(e.g. the enterprise app's account fields of each member: grade, industry, risk, switching
cost, months to the nearest contract end, for the segment builder).

An app registers a provider in its `AppConfig.ready`; the insight pipeline writes each
provider's Arrow table beside its inputs, reads it on the pipeline's engine (DuckDB or Spark,
the same code) and left-joins it on subscriber_id, so subscribers it does not list get nulls.
core owns the list so that insight never imports the apps downstream of it, like
core.nightly. The columns are for targeting only: the insight models never learn from them
(insight.upgrade leaves `column_names()` out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

KEY = "subscriber_id"


@dataclass(frozen=True)
class WideColumns:
    name: str
    # column → Ibis type name ("string", "float64", "int64", "boolean", "date"), in order.
    columns: Mapping[str, str]
    # Called with the snapshot month ("YYYY-MM"); returns a pyarrow.Table with KEY (unique)
    # and exactly `columns`.
    provide: Callable[[str], Any]


_PROVIDERS: dict[str, WideColumns] = {}


def wide_columns(
    name: str, columns: Mapping[str, str]
) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    """Register `provide(month)` as the provider of `columns`, once per name."""

    def register(provide: Callable[[str], Any]) -> Callable[[str], Any]:
        _PROVIDERS[name] = WideColumns(name=name, columns=dict(columns), provide=provide)
        return provide

    return register


def providers() -> list[WideColumns]:
    return list(_PROVIDERS.values())


def column_names() -> frozenset[str]:
    return frozenset(c for p in _PROVIDERS.values() for c in p.columns)
