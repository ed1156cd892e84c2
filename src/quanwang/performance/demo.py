"""The demo operator's performance: each part's demo in the order they read each other.

KPIs first (a custom KPI defined without code), then the actuals of the business day (the
grid, account and store holders synchronised first), the current quarter's targets set at the
province and decomposed to cities, counties, grids and staff, the kept boards (龙虎榜), the
staff grades, and the incentive statements of the last full month. Every part's demo is
idempotent, so `quanwang demo` can be run again.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

#: (module, function) of each part's demo, in the order they depend on each other.
PARTS = (
    ("kpis", "build_kpis_demo"),
    ("actuals", "build_actuals_demo"),
    ("targets", "build_targets_demo"),
    ("boards", "build_boards_demo"),
    ("grades", "build_grades_demo"),
    ("incentives", "build_incentives_demo"),
)


def build_performance_demo(*, say: Callable[[str], None]) -> None:
    for part, function in PARTS:
        try:
            module = import_module(f"quanwang.performance.{part}.demo")
        except ModuleNotFoundError as missing:
            if missing.name != f"quanwang.performance.{part}.demo":
                raise
            continue
        getattr(module, function)(say=say)
