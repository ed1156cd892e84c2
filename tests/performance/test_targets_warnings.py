"""Targets behind pace raise warnings: once a day per target, to the unit's manager or the staff
member, idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from quanwang.core.choices import Role
from quanwang.core.nightly import steps
from quanwang.performance.choices import Grain
from quanwang.performance.models.targets import TargetWarning
from quanwang.performance.targets.warnings import raise_target_warnings, warning_text
from tests import factories
from tests.performance.targets_support import actuals, register, target

pytestmark = pytest.mark.django_db

MID_APRIL = dt.date(2024, 4, 15)


def test_behind_targets_warned_once_a_day(tree: Any, monkeypatch: Any) -> None:
    # given a grid 20 % done at half time, a staff member on pace, and the grid's manager
    register(monkeypatch)
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    person = factories.staff(at=tree.grid_a, employee_no="E7", name="李四")
    person.user = factories.user()
    person.save()
    actuals(
        [
            ("t_revenue", "org_unit", "CA-1-G1", "CA-1-G1", "2024-04", 100.0),
            ("t_revenue", "staff", "E7", "CA-1-G1", "2024-04", 10.0),
            ("t_revenue", "staff", "E8", "CA-1-G1", "2024-04", 60.0),
        ],
        as_of=MID_APRIL,
    )
    grid = target(kpi="t_revenue", period="2024-04", unit=tree.grid_a, value=1000)
    mine = target(
        kpi="t_revenue",
        period="2024-04",
        unit=tree.grid_a,
        value=100,
        grain=Grain.STAFF,
        key="E7",
        staff=person,
    )
    # when the warnings are raised twice the same day
    first = raise_target_warnings()
    second = raise_target_warnings()
    # then the grid's manager and the staff member are each warned once, in the console
    assert [r.created for r in first] == [True, True]
    assert [r.created for r in second] == [False, False]
    assert TargetWarning.objects.count() == 2
    by_target = {w.target_id: w for w in TargetWarning.objects.all()}
    assert [e["user_id"] for e in by_target[grid.pk].delivered] == [manager.pk]
    assert [e["user_id"] for e in by_target[mine.pk].delivered] == [person.user_id]
    assert all(e["delivery"] == "console" for w in by_target.values() for e in w.delivered)
    assert by_target[grid.pk].pace == pytest.approx(0.2)
    # and the next day raises a new one
    assert all(r.created for r in raise_target_warnings(today=MID_APRIL + dt.timedelta(days=1)))
    assert "%" in warning_text(by_target[grid.pk])


def test_nothing_behind_nothing_raised(tree: Any, monkeypatch: Any) -> None:
    register(monkeypatch)
    assert raise_target_warnings() == []  # no actuals yet
    actuals([("t_revenue", "org_unit", "CA", "CA", "2024-04", 900.0)], as_of=MID_APRIL)
    target(kpi="t_revenue", period="2024-04", unit=tree.city_a, value=1000)
    assert raise_target_warnings() == []
    assert "performance_target_warnings" in [s.name for s in steps()]
