"""The visit plan by account grade: intervals from the versioned province rule, and the due
list (never visited, the grade's interval passed, a follow-up date come)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.core.errors import ServiceError
from quanwang.enterprise.choices import AccountStatus
from quanwang.enterprise.models import Account
from quanwang.enterprise.work.choices import DueReason, DueState
from quanwang.enterprise.work.services import plan, rules
from tests import factories
from tests.enterprise.work_world import TODAY, build, visit


def test_the_default_plan_visits_a_fortnightly_b_monthly_c_quarterly(db: None) -> None:
    assert plan.visit_interval_days(grade="A") == 14
    assert plan.visit_interval_days(grade="B") == 30
    assert plan.visit_interval_days(grade="C") == 90
    assert plan.visit_interval_days(grade="") == 90


def test_a_new_version_changes_the_intervals_and_keeps_the_old(tree: factories.Tree) -> None:
    world = build(tree)
    first = rules.current_rule_set()
    # When the province saves a new plan
    saved = rules.save_rule_set(
        actor=world.admin, days={"A": 7, "B": 21, "C": 60, "": 60}, based_on=first.version
    )
    # Then it is in force as the next version, and the first is kept
    assert saved.version == first.version + 1
    assert plan.visit_interval_days(grade="A") == 7
    assert rules.visible_rule_sets(world.auditor).count() == 2


def test_only_the_province_changes_the_plan_and_a_stale_form_is_refused(
    tree: factories.Tree,
) -> None:
    world = build(tree)
    days = {"A": 7, "B": 21, "C": 60, "": 60}
    with pytest.raises(ServiceError):
        rules.save_rule_set(actor=world.county_user, days=days)
    rules.save_rule_set(actor=world.admin, days=days, based_on=1)
    with translation.override("en"), pytest.raises(ServiceError, match="meanwhile"):
        rules.save_rule_set(actor=world.admin, days=days, based_on=1)


@pytest.mark.parametrize(
    ("days", "field"),
    [
        ({"A": 0, "B": 30, "C": 90, "": 90}, "interval_a"),
        ({"A": 14, "B": 30, "C": 400, "": 90}, "interval_c"),
        ({"A": 40, "B": 30, "C": 90, "": 90}, "interval_a"),
        ({"A": 14, "B": 30, "C": 90}, "interval_ungraded"),
    ],
)
def test_a_bad_plan_names_its_field_and_saves_nothing(
    tree: factories.Tree, days: dict[str, int], field: str
) -> None:
    world = build(tree)
    rules.current_rule_set()
    with pytest.raises(ServiceError) as refused:
        rules.save_rule_set(actor=world.admin, days=days)
    assert refused.value.field == field
    assert rules.current_rule_set().version == 1


def test_the_due_list_follows_each_grades_interval(tree: factories.Tree) -> None:
    world = build(tree)
    # Given A visited 14 days ago (due today), B 20 days ago (not due), C 100 days ago (overdue)
    visit(account=world.a, visitor=world.am, on=TODAY - dt.timedelta(days=14))
    visit(account=world.b, visitor=world.am, on=TODAY - dt.timedelta(days=20))
    visit(account=world.c, visitor=world.am, on=TODAY - dt.timedelta(days=100))
    # When the manager reads their due list
    due = plan.visits_due(user=world.am_user, on=TODAY)
    # Then C comes first (10 days late), then A (due today); B is not listed, nor others' accounts
    assert [d.account for d in due] == [world.c, world.a]
    assert [d.state for d in due] == [DueState.OVERDUE, DueState.DUE_TODAY]
    assert due[0].days_overdue == 10
    assert due[0].reason == DueReason.PLAN


def test_a_follow_up_date_makes_an_account_due_before_its_plan(tree: factories.Tree) -> None:
    world = build(tree)
    visit(account=world.a, visitor=world.am, on=TODAY - dt.timedelta(days=3))
    visit(account=world.b, visitor=world.am, on=TODAY - dt.timedelta(days=2))
    visit(
        account=world.c,
        visitor=world.am,
        on=TODAY - dt.timedelta(days=5),
        follow_up_on=TODAY,
        next_step="送报价单",
    )
    due = plan.visits_due(user=world.am_user, on=TODAY)
    assert [(d.account, d.reason, d.next_step) for d in due] == [
        (world.c, DueReason.FOLLOW_UP, "送报价单")
    ]


def test_never_visited_accounts_are_due_and_merged_ones_are_not(tree: factories.Tree) -> None:
    world = build(tree)
    Account.objects.filter(pk=world.b.pk).update(status=AccountStatus.MERGED)
    due = plan.visits_due(user=world.am_user, on=TODAY)
    assert {d.account for d in due} == {world.a, world.c}
    assert {d.reason for d in due} == {DueReason.NEVER}


def test_a_county_manager_sees_the_county_and_not_the_other(tree: factories.Tree) -> None:
    world = build(tree)
    due = plan.visits_due(user=world.county_user, on=TODAY)
    assert {d.account for d in due} == {world.a, world.b, world.c}
    # A grid manager reads accounts but holds no visit grant: no due list
    grid = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    assert plan.visits_due(user=grid, on=TODAY) == []


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ages=st.lists(st.one_of(st.none(), st.integers(0, 200)), min_size=3, max_size=3))
def test_the_counted_figure_matches_the_listed_one(db: None, ages: list[int | None]) -> None:
    # The dashboard counts in the database what the due list finds in Python: they agree.
    with transaction.atomic():
        world = build(factories.Tree())
        for account, age in zip((world.a, world.b, world.c), ages, strict=True):
            if age is not None:
                visit(account=account, visitor=world.am, on=TODAY - dt.timedelta(days=age))
        listed = plan.visits_due(user=world.am_user, on=TODAY)
        counted = plan.due_counts(user=world.am_user, on=TODAY)
        assert counted[DueState.OVERDUE] == sum(d.state == DueState.OVERDUE for d in listed)
        assert counted[DueState.DUE_TODAY] == sum(d.state == DueState.DUE_TODAY for d in listed)
        transaction.set_rollback(True)
