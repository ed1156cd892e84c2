"""A staff member's appraisal result for a period: the targets part's overall attainment
(targets.progress.attainment with kpi None: the mean of their targets' attainments, each capped
at 1.5; 1.0 = 100%). The one place grades reads it, so tests can stand in for it."""

from __future__ import annotations

from quanwang.performance.choices import Grain
from quanwang.performance.targets import progress


def appraisal_result(*, employee_no: str, period: str) -> float | None:
    """The result of `employee_no` over their targets of `period` (None: no targets)."""
    value = progress.attainment(grain=Grain.STAFF, key=employee_no, period=period)
    return None if value is None else float(value)
