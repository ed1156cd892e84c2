"""Progress of a target: attainment, expected pace, forecast, behind; the appraisal result;
every target of a period in one join."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from quanwang.performance.choices import Grain
from quanwang.performance.targets.progress import (
    APPRAISAL_CAP,
    attainment,
    attainment_table,
    attainments,
    progress,
)
from tests.performance.targets_support import actuals, register, target

pytestmark = pytest.mark.django_db

MID_APRIL = dt.date(2024, 4, 15)  # 15 of 30 days: half the month elapsed


def test_flow_sum_pace_and_forecast(tree: Any, monkeypatch: Any) -> None:
    # given a revenue target of 1000 for April and 300 done by mid-April
    register(monkeypatch)
    actuals([("t_revenue", "org_unit", "CA", "CA", "2024-04", 300.0)], as_of=MID_APRIL)
    t = target(kpi="t_revenue", period="2024-04", unit=tree.city_a, value=1000)
    # when its progress is measured on the business day
    p = progress(target=t)
    # then it is 30 % attained, 500 expected, at 60 % of pace, forecast 600, 15 days left
    assert p.on == MID_APRIL
    assert p.attainment == pytest.approx(0.3)
    assert p.expected == pytest.approx(500)
    assert p.pace == pytest.approx(0.6)
    assert p.forecast == pytest.approx(600)
    assert p.days_left == 15
    assert p.elapsed == pytest.approx(0.5)


def test_behind_follows_the_early_warning_thresholds(tree: Any, monkeypatch: Any) -> None:
    # given 250 done of 1000 at half time (pace 50 %, under the default 60 %)
    register(monkeypatch)
    actuals([("t_revenue", "org_unit", "CA", "CA", "2024-04", 250.0)], as_of=MID_APRIL)
    t = target(kpi="t_revenue", period="2024-04", unit=tree.city_a, value=1000)
    # then it is behind; earlier in the period it is not flagged yet
    assert progress(target=t).behind is True
    assert progress(target=t, on=dt.date(2024, 4, 5)).behind is False
    # and a looser threshold clears it
    monkeypatch.setattr("django.conf.settings.QUANWANG_EARLY_WARNING", {"below_pace": 0.4})
    assert progress(target=t).behind is False


def test_stock_and_lower_is_better(tree: Any, monkeypatch: Any) -> None:
    # given a customers (stock) target and a churn-rate (lower is better) target
    register(monkeypatch)
    actuals(
        [
            ("t_customers", "org_unit", "CA", "CA", "2024-04", 900.0),
            ("t_churn", "org_unit", "CA", "CA", "2024-04", 0.025),
        ],
        as_of=MID_APRIL,
    )
    customers = target(kpi="t_customers", period="2024-04", unit=tree.city_a, value=1000)
    churn = target(kpi="t_churn", period="2024-04", unit=tree.city_a, value="0.02")
    # then the stock is expected in full and forecast at its level
    p = progress(target=customers)
    assert (p.expected, p.forecast, p.pace) == pytest.approx((1000, 900, 0.9))
    # and the churn target is attained at target ÷ actual
    c = progress(target=churn)
    assert c.attainment == pytest.approx(0.8)
    assert c.forecast == pytest.approx(0.025)


def test_missing_figure_reads_zero_for_a_flow_only_when_computed(
    tree: Any, monkeypatch: Any
) -> None:
    # given revenue computed for city A only
    register(monkeypatch)
    actuals([("t_revenue", "org_unit", "CA", "CA", "2024-04", 10.0)], as_of=MID_APRIL)
    b = target(kpi="t_revenue", period="2024-04", unit=tree.city_b, value=100)
    customers = target(kpi="t_customers", period="2024-04", unit=tree.city_b, value=100)
    # then city B's revenue is at zero, while an uncomputed KPI has no figure
    assert progress(target=b).attainment == 0.0
    assert progress(target=customers).actual is None
    assert progress(target=customers).attainment is None


def test_no_actuals_at_all(tree: Any, monkeypatch: Any) -> None:
    # given no actuals published yet
    register(monkeypatch)
    t = target(kpi="t_revenue", period="2024-04", unit=tree.city_a, value=100)
    # then nothing is derived and nothing is behind
    p = progress(target=t, on=MID_APRIL)
    assert (p.actual, p.attainment, p.pace, p.behind) == (None, None, None, False)
    assert attainments(period="2024-04", on=MID_APRIL)[("t_revenue", "org_unit", "CA")].pace is None


def test_appraisal_result_is_the_capped_mean(tree: Any, monkeypatch: Any) -> None:
    # given one KPI at 300 % and one at 50 % for a staff member
    register(monkeypatch)
    actuals(
        [
            ("t_revenue", "staff", "E1", "CA-1-G1", "2024-04", 300.0),
            ("t_customers", "staff", "E1", "CA-1-G1", "2024-04", 50.0),
        ],
        as_of=MID_APRIL,
    )
    for code in ("t_revenue", "t_customers"):
        target(kpi=code, period="2024-04", unit=tree.grid_a, value=100, grain=Grain.STAFF, key="E1")
    # then one KPI's attainment is itself, and the overall one caps the runaway at 150 %
    assert attainment(grain="staff", key="E1", period="2024-04", kpi="t_revenue") == 3.0
    overall = attainment(grain="staff", key="E1", period="2024-04")
    assert overall == pytest.approx((APPRAISAL_CAP + 0.5) / 2)
    # and a key without targets has none
    assert attainment(grain="staff", key="E9", period="2024-04") is None


def test_bulk_join_agrees_with_one_by_one(tree: Any, monkeypatch: Any) -> None:
    # given targets of every kind with and without figures
    register(monkeypatch)
    actuals(
        [
            ("t_revenue", "org_unit", "CA", "CA", "2024-04", 300.0),
            ("t_customers", "org_unit", "CA", "CA", "2024-04", 900.0),
            ("t_churn", "org_unit", "CA", "CA", "2024-04", 0.025),
            ("t_churn", "org_unit", "CB", "CB", "2024-04", 0.0),
        ],
        as_of=MID_APRIL,
    )
    made = [
        target(kpi="t_revenue", period="2024-04", unit=tree.city_a, value=1000),
        target(kpi="t_revenue", period="2024-04", unit=tree.city_b, value=1000),
        target(kpi="t_customers", period="2024-04", unit=tree.city_a, value=1000),
        target(kpi="t_churn", period="2024-04", unit=tree.city_a, value="0.02"),
        target(kpi="t_churn", period="2024-04", unit=tree.city_b, value="0.02"),
        target(kpi="t_pool", period="2024-04", unit=tree.city_b, value=5),
        target(kpi="t_revenue", period="2024-05", unit=tree.city_b, value=5),
    ]
    # when every target of April is computed in one join
    bulk = attainments(period="2024-04")
    # then each agrees with its own progress, and May is left out
    assert len(bulk) == 6
    assert attainment_table(period="2024-04", grain=Grain.STAFF).num_rows == 0
    for t in made[:-1]:
        one, many = progress(target=t), bulk[(t.kpi, t.grain, t.key)]
        for name in ("attainment", "expected", "pace", "forecast", "actual_value"):
            assert getattr(many, name) == pytest.approx(getattr(one, name)), (t, name)
        assert (many.behind, many.days_left, many.target_id) == (one.behind, one.days_left, t.pk)
