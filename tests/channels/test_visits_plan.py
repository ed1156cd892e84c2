"""The visit plan by grade, the stores due or overdue a visit, the visits done against plan
per grid (what scorecards read), the store page's section and the demo's visits."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone, translation

from quanwang.channels.choices import StoreGrade, StoreType
from quanwang.channels.models import StoreVisit, VisitPlanRule
from quanwang.channels.visits.choices import DueState
from quanwang.channels.visits.sections import grid_section, store_section
from quanwang.channels.visits.services.attainment import (
    VisitAttainment,
    attainment_by_grid,
    month_days,
)
from quanwang.channels.visits.services.plan import Plan, due_list, plan_rows, set_plan
from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from tests import factories
from tests.channels.test_visits_helpers import logged, store

TODAY = dt.date(2024, 6, 30)
NOW = dt.datetime(2024, 6, 30, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def test_the_default_plan_visits_key_stores_weekly(tree: factories.Tree) -> None:
    plan = Plan.load()
    path = tree.grid_a.path
    assert plan.interval(org_path=path, grade=StoreGrade.KEY) == 7
    assert plan.interval(org_path=path, grade=StoreGrade.ANCHOR) == 14
    assert plan.interval(org_path=path, grade=StoreGrade.SMALL) == 30
    assert plan.interval(org_path=path, grade="") == 30
    assert plan.interval(org_path=path, grade="unknown") == 30


def test_the_province_sets_the_plan_and_a_deeper_unit_wins(tree: factories.Tree) -> None:
    # Given the province's admin setting key stores to every 5 days
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    set_plan(
        user=admin, org_unit=tree.province,
        intervals={StoreGrade.KEY: 5, StoreGrade.ANCHOR: 10, StoreGrade.SMALL: 20, "": 40},
    )  # fmt: skip
    # and (as a superuser may) city A's own rule for small stores
    root = factories.user(is_superuser=True)
    set_plan(user=root, org_unit=tree.city_a, intervals={StoreGrade.SMALL: 25})

    # Then each store follows the deepest unit's rule for its grade
    plan = Plan.load()
    assert plan.interval(org_path=tree.grid_a.path, grade=StoreGrade.KEY) == 5
    assert plan.interval(org_path=tree.grid_a.path, grade=StoreGrade.SMALL) == 25
    assert plan.interval(org_path=tree.grid_b.path, grade=StoreGrade.SMALL) == 20
    rows = {r.grade: r for r in plan_rows(org_unit=tree.grid_a)}
    assert rows[StoreGrade.SMALL].set_by == tree.city_a
    assert rows[""].interval_days == 40


def test_only_the_province_changes_the_plan(tree: factories.Tree, login: Any) -> None:
    city = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    with pytest.raises(NotFound):
        set_plan(user=city, org_unit=tree.city_a, intervals={StoreGrade.KEY: 3})
    client = login(city)
    assert client.get("/visits/plan/").status_code == 200
    answer = client.post("/visits/plan/", {"key": 3, "anchor": 14, "small": 30, "ungraded": 30})
    assert answer.status_code == 404
    assert not VisitPlanRule.objects.exists()
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    saved = login(admin).post(
        "/visits/plan/", {"key": 3, "anchor": 14, "small": 30, "ungraded": 30}
    )
    assert saved.status_code == 302
    assert Plan.load().interval(org_path=tree.grid_a.path, grade=StoreGrade.KEY) == 3


def test_a_plan_out_of_range_is_refused_by_grade(tree: factories.Tree) -> None:
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    with pytest.raises(ServiceError) as refused:
        set_plan(user=admin, org_unit=tree.province, intervals={StoreGrade.ANCHOR: 0})
    assert refused.value.field == "anchor"
    assert not VisitPlanRule.objects.exists()


def test_the_due_list_puts_the_overdue_first(tree: factories.Tree) -> None:
    # Given a grid manager's stores: a key store seen 10 days ago (3 days overdue), a small
    # store seen 40 days ago (10 overdue), an anchor store seen 13 days ago (due tomorrow), a
    # store never visited, a key store seen yesterday (on plan), and one of grid B
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    late = store(tree.grid_a, grade=StoreGrade.KEY)
    later = store(tree.grid_a, grade=StoreGrade.SMALL)
    soon = store(tree.grid_a, grade=StoreGrade.ANCHOR)
    never = store(tree.grid_a, grade="")
    fine = store(tree.grid_a, grade=StoreGrade.KEY)
    store(tree.grid_b)
    for shop, days in ((late, 10), (later, 40), (soon, 13), (fine, 1)):
        StoreVisit.objects.create(
            store=shop, visitor=manager, visited_on=TODAY - dt.timedelta(days=days),
            idempotency_key=uuid.uuid4(), how_are_things="a", new_plans="b",
            our_support="c", their_commitment="d",
        )  # fmt: skip

    # When the due list is read on the 30th
    found = due_list(user=manager, today=TODAY)

    # Then the longest overdue come first, then the never visited, then those due soon
    assert [(s.store_pk, s.state, s.days_overdue) for s in found.rows] == [
        (later.pk, DueState.OVERDUE, 10),
        (late.pk, DueState.OVERDUE, 3),
        (never.pk, DueState.NEVER, 0),
        (soon.pk, DueState.DUE, 0),
    ]
    assert found.counts[DueState.ON_PLAN] == 1
    assert len(due_list(user=manager, today=TODAY, everything=True).rows) == 5


def test_the_due_page_lists_the_users_stores_only(tree: factories.Tree, login: Any) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    mine, theirs = store(tree.grid_a, name="本网格店"), store(tree.grid_b, name="外网格店")
    text = login(manager).get("/visits/").content.decode()
    assert "本网格店" in text
    assert "外网格店" not in text
    assert f"/visits/stores/{mine.pk}/new/" in text
    assert f"/visits/stores/{theirs.pk}/new/" not in text


def test_visits_against_plan_count_each_store_up_to_its_plan(tree: factories.Tree) -> None:
    # Given in June (30 days): a key store (4 planned) visited 6 times, a small store (1
    # planned) never; in grid B an anchor store (2 planned) visited once, and a May visit
    manager_a = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    manager_b = factories.user(role=Role.GRID_MANAGER, at=tree.grid_b)
    key, small = store(tree.grid_a, grade=StoreGrade.KEY), store(tree.grid_a, grade="芝麻店")
    anchor = store(tree.grid_b, grade=StoreGrade.ANCHOR)
    store(tree.grid_b, grade=StoreGrade.KEY, active=False)
    for day in (1, 3, 5, 10, 20, 29):
        logged(manager_a, key, dt.date(2024, 6, day), now=NOW)
    logged(manager_b, anchor, dt.date(2024, 6, 15), now=NOW)
    logged(manager_b, anchor, dt.date(2024, 5, 31), now=NOW)
    assert small.grade == StoreGrade.SMALL

    # When the scorecards read June
    found = attainment_by_grid(month="2024-06")

    # Then grid A made 4 of 5 planned (the extra visits to one store do not count), B 1 of 2
    assert found == {
        tree.grid_a.code: VisitAttainment(done=4, planned=5),
        tree.grid_b.code: VisitAttainment(done=1, planned=2),
    }


def test_a_month_must_look_like_a_month() -> None:
    assert month_days("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    for bad in ("2024-13", "2024-6", "June", ""):
        with pytest.raises(ServiceError) as refused:
            attainment_by_grid(month=bad)
        assert refused.value.field == "month"


def test_the_store_pages_section(tree: factories.Tree) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a, grade=StoreGrade.KEY, store_type=StoreType.SOCIAL)
    visit = logged(manager, shop, timezone.localdate())
    section = store_section(store=shop, user=manager, month=None)
    assert section is not None
    assert [r["visit"] for r in section["visits"]] == [visit]
    assert section["state"].due_on == visit.visited_on + dt.timedelta(days=7)
    assert section["can_log"] is True
    outsider = factories.user(role=Role.GRID_MANAGER, at=tree.grid_b)
    assert store_section(store=shop, user=outsider, month=None) is None
    from django.template.loader import render_to_string

    html = render_to_string("channels/visits/_store_section.html", section)
    assert f"/visits/{visit.pk}/" in html


def test_the_grid_pages_section(tree: factories.Tree) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a, grade=StoreGrade.SMALL)
    logged(manager, shop, timezone.localdate())
    section = grid_section(grid=tree.grid_a, user=manager, month=None)
    assert section is not None
    assert section["attainment"] == VisitAttainment(done=1, planned=1)
    assert section["rate"] == 1.0
