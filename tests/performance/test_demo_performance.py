"""The demo operator's performance, end to end on a small demo city: the quarter's targets set
at the top and decomposed to cities, counties, grids, staff and stores (sums kept), a board
kept, incentive statements computed and some approved; built twice, the same. (The one slow
performance test: about 20 s, most of it the operator demo itself.)"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from quanwang.channels.stores.demo import build_demo as build_stores_demo
from quanwang.core.choices import OrgLevel
from quanwang.core.models import Staff
from quanwang.data.demo import build_operator_demo
from quanwang.insight.choices import Engine
from quanwang.performance.actuals.reading import business_day
from quanwang.performance.actuals.services import run_actuals
from quanwang.performance.boards.build import build_day
from quanwang.performance.boards.reading import kept_days, load
from quanwang.performance.choices import Aggregation, Grain
from quanwang.performance.demo import build_performance_demo
from quanwang.performance.incentives.choices import RoleKind, StatementStatus
from quanwang.performance.models import (
    CompositeScore,
    IncentiveRuleSet,
    IncentiveStatement,
    Target,
    TargetChange,
)
from quanwang.performance.targets import kpis
from quanwang.performance.targets.choices import ChangeKind, Rule


def _state() -> tuple[Any, ...]:
    return (
        sorted(
            Target.objects.values_list(
                "kpi", "period", "grain", "key", "value", "locked", "parent_id", "rule"
            )
        ),
        TargetChange.objects.count(),
        sorted(IncentiveRuleSet.objects.values_list("role_kind", "version", "valid_from")),
        sorted(IncentiveStatement.objects.values_list("pk", "status", "fingerprint", "total")),
        CompositeScore.objects.count(),
        kept_days(),
    )


def test_the_demo_sets_decomposes_ranks_and_pays_and_a_second_run_changes_nothing(
    db: None,
) -> None:
    # given the small demo city with its stores synchronised
    build_operator_demo(subscribers=1500, months=2, seed=3)
    build_stores_demo(say=lambda _text: None)
    # and the business day's boards kept by the night's steps, as `quanwang demo` runs them
    # before its performance part (there is no composite yet)
    run_actuals(as_of=None, full=False, engine=Engine.DUCKDB)
    build_day()
    said: list[str] = []

    # when the performance demo is built
    build_performance_demo(say=said.append)

    # then the business day's quarter has targets at every level, set by the demo admin
    day = business_day()
    assert day is not None
    quarter = f"{day.year}Q{(day.month - 1) // 3 + 1}"
    targets = Target.objects.filter(period=quarter)
    levels = set(targets.filter(grain=Grain.ORG_UNIT).values_list("org_unit__level", flat=True))
    assert {OrgLevel.GROUP, OrgLevel.CITY, OrgLevel.COUNTY, OrgLevel.GRID} <= levels
    assert targets.filter(grain=Grain.STAFF).count() > 20
    assert targets.filter(grain=Grain.STORE).exists()
    admin = get_user_model().objects.get(username="admin")
    assert set(targets.filter(parent__isnull=True).values_list("created_by", flat=True)) == {
        admin.pk
    }
    # and every rule is shown, with one lock and one change by hand, its reason kept
    assert set(targets.exclude(rule="").values_list("rule", flat=True)) == set(Rule)
    assert targets.filter(locked=True).count() == 1
    [changed] = TargetChange.objects.filter(kind=ChangeKind.CHANGED)
    assert changed.reason
    assert TargetChange.objects.filter(kind=ChangeKind.BALANCED).exists()

    # and the children of every decomposed sum target add up to it exactly
    children: dict[int, list[Decimal]] = defaultdict(list)
    for parent_id, value in targets.filter(parent__isnull=False).values_list("parent", "value"):
        children[parent_id].append(value)
    checked = 0
    for parent in targets.filter(pk__in=list(children)):
        if kpis.definition(parent.kpi).aggregation is Aggregation.SUM:
            assert sum(children[parent.pk], Decimal(0)) == parent.value, parent
            checked += 1
    assert checked > 30

    # and the grid_manager login's own staff record has its targets
    grid_manager = Staff.objects.get(user__username="grid_manager")
    assert targets.filter(grain=Grain.STAFF, key=grid_manager.employee_no).count() >= 3

    # and a board is kept for the business day, with the demo's composite score on it (the
    # night before kept the day without it: `make run` showed no 综合得分 board)
    assert day in kept_days()
    assert CompositeScore.objects.exists()
    kept = load(day)
    assert kept is not None
    assert "overall" in kept.info

    # and each role kind has its rules, the month is paid, and some statements are frozen
    assert set(IncentiveRuleSet.objects.values_list("role_kind", flat=True)) == set(RoleKind)
    statements = IncentiveStatement.objects.all()
    assert statements.count() > 10
    assert 0 < statements.filter(status=StatementStatus.APPROVED).count() <= 5
    assert statements.filter(staff=grid_manager, status=StatementStatus.APPROVED).exists()

    # when it is built again; then nothing changes
    before = _state()
    build_performance_demo(say=said.append)
    assert _state() == before
