"""Background jobs of the performance app: each part registers its own handlers and nightly
steps (core.nightly) on import.

The nightly steps run in registration order, so the parts are imported in the order they
read each other (an import list would be re-sorted alphabetically by the linter): the
actuals first, then the targets' warnings and the boards, which read them.
"""

from importlib import import_module

PARTS = ("kpis", "actuals", "targets", "boards", "grades", "incentives")

for _part in PARTS:
    import_module(f"quanwang.performance.{_part}.job_handlers")
