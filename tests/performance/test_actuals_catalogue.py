"""The actuals of the real KPI catalogue on the kpis world (tests/performance/kpis_world.py),
read back through the same fact tables the nightly step opens."""

from __future__ import annotations

import datetime as dt

import pytest

from quanwang.insight.choices import Engine
from quanwang.performance.actuals import reading
from quanwang.performance.actuals.services import run_actuals
from quanwang.performance.choices import Grain
from tests import factories
from tests.performance import kpis_world


def test_the_catalogue_is_computed_and_rolled_up(tree: factories.Tree) -> None:
    # given the kpis world's warehouse (June 2024) and a grid manager in the file
    kpis_world.write_warehouse()
    factories.staff(at=tree.grid_a, employee_no="GM1")
    # when the actuals are run with the business day left to the facts
    result = run_actuals(
        as_of=None, full=False, engine=Engine.DUCKDB, synced_on=dt.date(2024, 1, 1)
    )
    # then the business day is the newest fact month's end, not today
    assert result["as_of"] == "2024-06-30"
    # and June's revenue and customers agree with the KPI's own figures, rolled up
    revenue = reading.figures(kpi="revenue", grain=Grain.ORG_UNIT, period="2024-06")
    assert revenue["CA-1-G1"].value == pytest.approx(180)
    assert revenue["P1"].value == pytest.approx(180 + 80)
    customers = reading.figures(kpi="customers", grain=Grain.ORG_UNIT, period="2024Q2")
    assert customers["CA-1-G1"].value == 3
    # and every KPI whose facts exist was computed; a missing one is named, not fatal
    assert result["recomputed"] > 0
    # and a second run recomputes nothing
    again = run_actuals(as_of=None, full=False, engine=Engine.DUCKDB, synced_on=dt.date(2024, 1, 1))
    assert again["recomputed"] == 0


def test_the_nightly_step_and_the_job_are_registered() -> None:
    # given the app loaded
    from quanwang.core import nightly
    from quanwang.core.choices import JobKind
    from quanwang.core.jobs import HANDLERS

    # then the actuals run after each snapshot and as a job
    assert "performance_actuals" in [step.name for step in nightly.steps()]
    assert JobKind.COMPUTE_ACTUALS in HANDLERS
