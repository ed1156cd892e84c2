"""performance.grades: staff grades 三级十档 moved by approved rules (see
docs/performance/grades.md).

`coefficient_on(staff=, day=)` (the incentive coefficient of a grade) is importable from here;
it lives in services.reading and is loaded on first use (models are not ready at import)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in {"coefficient_on", "grade_on"}:
        from quanwang.performance.grades.services import reading

        return getattr(reading, name)
    raise AttributeError(name)
