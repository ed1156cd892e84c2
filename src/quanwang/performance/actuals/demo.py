"""The actuals of the demo operator: the grid and account holders synchronised, then every KPI
computed for the demo's business day (its generated data ends in an earlier year)."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from quanwang.insight.choices import Engine
from quanwang.performance.actuals.services import run_actuals


def build_actuals_demo(*, say: Callable[[str], None]) -> None:
    """Idempotent: a second run recomputes nothing that did not change."""
    result = run_actuals(as_of=None, full=False, engine=Engine.DUCKDB)
    say(
        _(
            "Actuals as of %(as_of)s: %(rows)d values, %(recomputed)d KPI-months "
            "recomputed (%(seconds).1f s)."
        )
        % result
    )
