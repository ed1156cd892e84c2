"""A small world for the incentives tests (helpers only; the tests are in the other
test_incentives_* files): a tree with grid managers, a city marketer who runs and approves,
one rule set for grid managers, and actuals published by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from quanwang.core.choices import Role
from quanwang.performance.actuals import reading
from quanwang.performance.actuals.store import ActualsVersion, publish
from quanwang.performance.incentives.choices import RoleKind
from quanwang.performance.incentives.services import rules
from quanwang.performance.models import IncentiveRuleSet
from tests import factories

RULES: dict[str, Any] = {
    "piece_rates": [{"kpi": "new_5g_plans", "yuan_per_unit": "20"}],
    "team_share": "0.3",
    "tiers": [
        {"from_attainment": "0", "multiplier": "0.8"},
        {"from_attainment": "0.8", "multiplier": "1.0"},
        {"from_attainment": "1.2", "multiplier": "1.3"},
    ],
    "deductions": [{"kpi": "complaints", "yuan_per_unit": "50"}],
    "floor": "0",
    "cap": "5000",
}


@dataclass
class World:
    tree: factories.Tree
    admin: Any  # province admin: keeps the rules
    marketer: Any  # city A marketer: runs the statements
    approver: Any  # another city A marketer: approves
    manager_a1: Any  # grid manager of CA-1-G1 (login)
    manager_a2: Any
    manager_b: Any  # grid manager of CB-1-G1
    staff_a1: Any
    staff_a2: Any
    staff_b: Any
    rule_set: IncentiveRuleSet


def build(tree: factories.Tree, *, rules_json: dict[str, Any] | None = None) -> World:
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    approver = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    people = {}
    for name, grid, employee_no in (
        ("a1", tree.grid_a, "EA1"),
        ("a2", tree.grid_a, "EA2"),
        ("b", tree.grid_b, "EB1"),
    ):
        login = factories.user(role=Role.GRID_MANAGER, at=grid)
        staff = factories.staff(at=grid, employee_no=employee_no, name=f"网格长{name}")
        staff.user = login
        staff.save(update_fields=["user"])
        people[name] = (login, staff)
    rule_set = rules.add_version(
        actor=admin,
        role_kind=RoleKind.GRID_MANAGER,
        valid_from=dt.date(2024, 1, 1),
        valid_until=None,
        rules=rules_json or RULES,
    )
    return World(
        tree=tree, admin=admin, marketer=marketer, approver=approver,
        manager_a1=people["a1"][0], manager_a2=people["a2"][0], manager_b=people["b"][0],
        staff_a1=people["a1"][1], staff_a2=people["a2"][1], staff_b=people["b"][1],
        rule_set=rule_set,
    )  # fmt: skip


def actuals(
    values: dict[tuple[str, str, str, str], float], *, as_of: dt.date = dt.date(2024, 12, 31)
) -> ActualsVersion:
    """Publish a version: (kpi, grain, key, period) → value; staff keys belong to their grid."""
    units = {"EA1": "CA-1-G1", "EA2": "CA-1-G1", "EB1": "CB-1-G1"}
    rows = [
        {
            "kpi": kpi, "grain": grain, "key": key, "org_unit": units.get(key, key),
            "period": period, "numerator": value, "denominator": None,
        }
        for (kpi, grain, key, period), value in values.items()
    ]  # fmt: skip
    version = publish(rows, as_of=as_of, snapshot="snap-1")
    reading._cache.clear()
    return version


def december(*, a1_5g: float = 10, a2_5g: float = 5, grid_5g: float = 30, complaints: float = 0,
             month: str = "2024-12") -> dict[tuple[str, str, str, str], float]:  # fmt: skip
    values = {
        ("new_5g_plans", "staff", "EA1", month): a1_5g,
        ("new_5g_plans", "staff", "EA2", month): a2_5g,
        ("new_5g_plans", "staff", "EB1", month): 7,
        ("new_5g_plans", "org_unit", "CA-1-G1", month): grid_5g,
        ("new_5g_plans", "org_unit", "CB-1-G1", month): 7,
    }
    if complaints:
        values[("complaints", "staff", "EA1", month)] = complaints
    return values
