"""Incentive rule versions: overlap and gap refused naming the place, schema errors name the
field, only the province keeps them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.performance.incentives.choices import RoleKind
from quanwang.performance.incentives.services import rules, statements
from quanwang.performance.models import IncentiveRuleSet
from tests import factories
from tests.performance import test_incentives_world as world

pytestmark = pytest.mark.django_db


def _add(actor: Any, start: dt.date, end: dt.date | None) -> IncentiveRuleSet:
    return rules.add_version(
        actor=actor, role_kind=RoleKind.GRID_MANAGER, valid_from=start, valid_until=end,
        rules=world.RULES,
    )  # fmt: skip


def test_an_overlap_is_refused_naming_the_versions_and_the_day(tree: Any) -> None:
    # given version 1 open-ended from 2024-01-01
    w = world.build(tree)
    # when version 2 is added from 2024-07-01 without ending version 1
    with pytest.raises(ServiceError) as caught:
        _add(w.admin, dt.date(2024, 7, 1), None)
    # then the refusal names both versions and the day, and nothing is saved
    message = str(caught.value.message)
    assert "1" in message
    assert "2" in message
    assert "2024-07-01" in message
    assert caught.value.field == "valid_from"
    assert IncentiveRuleSet.objects.count() == 1


def test_a_gap_is_refused_naming_the_days_left_uncovered(tree: Any) -> None:
    # given version 1 ended on 2024-06-30
    w = world.build(tree)
    rules.end_version(actor=w.admin, pk=w.rule_set.pk, valid_until=dt.date(2024, 6, 30))
    # when version 2 starts on 2024-08-01
    with pytest.raises(ServiceError) as caught:
        _add(w.admin, dt.date(2024, 8, 1), None)
    # then the uncovered days are named
    assert "2024-07-01" in caught.value.message
    assert "2024-07-31" in caught.value.message
    # and the next day is accepted as version 2
    assert _add(w.admin, dt.date(2024, 7, 1), None).version == 2
    assert rules.for_month(role_kind=RoleKind.GRID_MANAGER, month="2024-06") == w.rule_set
    assert rules.for_month(role_kind=RoleKind.GRID_MANAGER, month="2024-07").version == 2


def test_a_version_paid_under_keeps_its_months(tree: Any) -> None:
    # given December approved under version 1
    w = world.build(tree)
    world.actuals(world.december())
    statements.run_month(actor=w.marketer, month="2024-12")
    statements.approve_statements(actor=w.approver, month="2024-12")
    # when version 1 is ended before December's end: refused naming the month
    with pytest.raises(ServiceError) as caught:
        rules.end_version(actor=w.admin, pk=w.rule_set.pk, valid_until=dt.date(2024, 11, 30))
    assert "2024-12" in caught.value.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"piece_rates": [{"kpi": "new_5g_plans", "yuan_per_unit": "abc"}]},
            "rules.piece_rates.0.yuan_per_unit",
        ),
        ({"team_share": "1.5"}, "rules.team_share"),
        ({"tiers": [{"from_attainment": "0", "multiplier": "1"},
                    {"from_attainment": "0", "multiplier": "2"}]}, "rules.tiers.1.from_attainment"),
        ({"floor": "9000"}, "rules.floor"),
        ({"bonus": 1}, "rules.bonus"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_naming_the_field(tree: Any, change: Any, field: str) -> None:
    # given the province admin
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    # when rules with a fault are saved
    with pytest.raises(ServiceError) as caught:
        rules.add_version(
            actor=admin, role_kind=RoleKind.GRID_MANAGER, valid_from=dt.date(2024, 1, 1),
            valid_until=None, rules={**world.RULES, **change},
        )  # fmt: skip
    # then the error names the field and nothing is saved
    assert caught.value.field == field
    assert not IncentiveRuleSet.objects.exists()


def test_only_the_province_keeps_the_rules(tree: Any) -> None:
    # given a city marketer and a grid manager
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    # when they add a version: as if the rules did not exist
    with pytest.raises(NotFound):
        _add(marketer, dt.date(2024, 1, 1), None)


def test_a_ratio_kpi_or_an_unknown_kpi_is_no_piece_rate(tree: Any) -> None:
    # given the province admin
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    for kpi, words in (("churn_rate", "churn_rate"), ("no_such_kpi", "no_such_kpi")):
        # when a piece rate is set on a ratio KPI or a KPI not in the catalogue
        with pytest.raises(ServiceError) as caught:
            rules.add_version(
                actor=admin, role_kind=RoleKind.GRID_MANAGER, valid_from=dt.date(2024, 1, 1),
                valid_until=None,
                rules={**world.RULES, "piece_rates": [{"kpi": kpi, "yuan_per_unit": "1"}]},
            )  # fmt: skip
        # then refused naming the field and the KPI
        assert caught.value.field == "rules.piece_rates.0.kpi"
        assert words in caught.value.message
