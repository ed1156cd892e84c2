"""The work pages in Chinese for each role that opens them, and the sections the part adds to
the account page, the home page and the enterprise dashboard."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone

from quanwang.core.choices import Role
from quanwang.enterprise.models import EnterpriseVisit
from quanwang.enterprise.work import merging, sections
from quanwang.enterprise.work.choices import DueState
from tests import factories
from tests.enterprise import persons_factories as pf
from tests.enterprise.work_world import World, build, visit

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def _pages(world: World, who: str) -> list[str]:
    visit_pk = EnterpriseVisit.objects.filter(account=world.a).values_list("pk", flat=True)[0]
    manager = world.am.pk
    common = [
        "/enterprise/visits/",
        f"/enterprise/visits/{visit_pk}/",
        "/enterprise/visit-plan/",
        f"/enterprise/managers/{manager}/",
        f"/enterprise/managers/{manager}/appraisal/",
        f"/enterprise/managers/{manager}/appraisal/visits_done/",
        f"/enterprise/managers/{manager}/appraisal/visits_planned/",
        f"/enterprise/managers/{manager}/appraisal/revenue/",
        "/enterprise/my-portfolio/" if who == "account_manager" else "/enterprise/managers/",
        "/enterprise/managers/violations/",
    ]
    if who in ("account_manager", "county_manager"):
        common.append(f"/enterprise/visits/new/{world.a.pk}/")
    return common


@pytest.fixture
def world(tree: factories.Tree) -> World:
    built = build(tree)
    boss = pf.person()
    pf.role(account=built.a, person=boss)
    today = timezone.localdate()
    visit(account=built.a, visitor=built.am, on=today - dt.timedelta(days=20))
    visit(account=built.b, visitor=built.am, on=today - dt.timedelta(days=30))
    return built


@pytest.mark.parametrize("who", ["account_manager", "county_manager", "auditor", "admin"])
def test_every_page_opens_in_chinese_for_each_role(world: World, login: Any, who: str) -> None:
    from tests.web.test_every_page_zh import ALLOWED_WORDS, english_words

    user = {
        "account_manager": world.am_user,
        "county_manager": world.county_user,
        "auditor": world.auditor,
        "admin": world.admin,
    }[who]
    client = login(user)
    for url in _pages(world, who):
        answer = client.get(url, **ZH)
        assert answer.status_code == 200, (who, url)
        html = answer.content.decode()
        main = html[html.index("<main>") : html.index("</main>")]
        assert "Traceback" not in main
        found = english_words(main, ALLOWED_WORDS | {"A", "B", "C"})
        assert not found, (who, url, found)


def test_an_account_manager_sees_only_their_own(world: World, login: Any) -> None:
    client = login(world.am_user)
    # Another manager's portfolio, facts and their account's visit form are not found
    for url in (
        f"/enterprise/managers/{world.other.pk}/",
        f"/enterprise/managers/{world.other.pk}/appraisal/",
        f"/enterprise/visits/new/{world.far.pk}/",
    ):
        assert client.get(url, **ZH).status_code == 404, url
    # The managers' page sends them to their own portfolio
    assert client.get("/enterprise/managers/")["Location"] == "/enterprise/my-portfolio/"


def test_a_grid_manager_opens_no_visit_page(world: World, login: Any) -> None:
    grid = factories.user(role=Role.GRID_MANAGER, at=world.tree.grid_a)
    client = login(grid)
    assert client.get("/enterprise/visits/", **ZH).status_code == 404
    assert client.get(f"/enterprise/visits/new/{world.a.pk}/", **ZH).status_code == 404


def test_the_account_section_shows_last_visits_next_due_and_the_lead_grade(world: World) -> None:
    found = sections.account_section(account=world.a, user=world.county_user)
    assert found is not None
    assert [row["v"].account for row in found["visits"]] == [world.a]
    assert found["next"].state == DueState.OVERDUE  # A every 14 days, last 20 days ago
    assert (found["lead"], found["lead_grade"], found["violation"]) == (world.am, "junior", True)
    assert found["can_log"]
    # An account manager off the team gets no section
    assert sections.account_section(account=world.a, user=world.other_user) is None


def test_the_home_section_is_an_account_managers_day(world: World) -> None:
    found = sections.home_section(user=world.am_user)
    assert found is not None
    # A overdue (20 > 14 days), C never visited (due today); B visited 30 days ago: due today
    assert (found["overdue"], found["due_today"]) == (1, 2)
    assert sections.home_section(user=world.county_user) is None


def test_the_dashboard_counts_what_the_due_list_lists(world: World) -> None:
    found = sections.dashboard_section(user=world.county_user)
    assert found is not None
    assert (found["overdue"], found["due_today"]) == (1, 2)
    assert found["violation_count"] == 2
    assert [line.staff for line in found["lines"]] == [world.am]


def test_a_merge_moves_the_visits_and_keeps_where_they_were_logged(world: World) -> None:
    moved = merging.move_visits(survivor=world.c, merged=world.a)
    assert moved == {"visits": 1}
    visit_ = EnterpriseVisit.objects.get(logged_for=world.a)
    assert visit_.account == world.c
    # Run again: nothing more to move
    assert merging.move_visits(survivor=world.c, merged=world.a) == {"visits": 0}


def test_the_merge_hook_is_registered(db: None) -> None:
    from quanwang.enterprise.accounts.merging import hooks

    assert hooks()["work"] is merging.move_visits


def test_a_key_of_the_visit_form_is_new_each_time(world: World, login: Any) -> None:
    client = login(world.am_user)
    first = client.get(f"/enterprise/visits/new/{world.a.pk}/").context["form"]
    second = client.get(f"/enterprise/visits/new/{world.a.pk}/").context["form"]
    assert first.initial["idempotency_key"] != second.initial["idempotency_key"]
    assert isinstance(first.initial["idempotency_key"], uuid.UUID)


def test_the_sections_render_on_the_pages_that_hold_them(world: World, login: Any) -> None:
    client = login(world.am_user)
    home = client.get("/", **ZH).content.decode()
    assert 'id="work-home-section"' in home
    account = client.get(f"/enterprise/accounts/{world.a.enterprise_id}/", **ZH)
    assert account.status_code == 200
    assert 'id="work-account-section"' in account.content.decode()
    dashboard = login(world.county_user).get("/enterprise/", **ZH)
    assert dashboard.status_code == 200
    assert 'id="work-dashboard-section"' in dashboard.content.decode()


def test_a_login_without_a_staff_record_is_told_why_it_has_no_portfolio(
    client: Any, tree: factories.Tree
) -> None:
    # Given an account manager's login that no staff record names
    login = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    client.force_login(login)

    # When they open their portfolio (linked from their home page)
    page = client.get("/enterprise/my-portfolio/")

    # Then the page answers and says what to do, rather than "not found"
    assert page.status_code == 200
    assert 'id="no-staff"' in page.content.decode()


def test_the_managers_page_is_in_the_menu_of_unit_readers_only(tree: factories.Tree) -> None:
    from quanwang.core.navigation import items_for

    # Given an account manager (own accounts) and a county manager (the county's)
    own = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    unit = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When their menus are built
    def menu(user: Any) -> set[str]:
        return {item.url_name for items in items_for(user).values() for item in items}

    # Then only the county manager is offered the managers' page
    assert "enterprise:work-managers" not in menu(own)
    assert "enterprise:work-managers" in menu(unit)
