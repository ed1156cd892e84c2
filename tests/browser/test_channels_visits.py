"""Store visits on a grid manager's phone (360-414 px), in Chromium: the stores due a visit,
the visit form on the four points, a double tap on save logging one visit; and the
partner's own page on a phone."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from quanwang.channels.choices import StoreGrade
from quanwang.channels.models import Commitment, StoreVisit
from quanwang.channels.visits.choices import CommitmentSide
from quanwang.core.choices import Role
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, submit_login
from tests.channels.test_visits_helpers import NOTES, partner_of, store

PHONES = (360, 390, 414)


def _phone(browser: Any, live_server: Any, width: int) -> Any:
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport={"width": width, "height": 800},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def phone(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """A 390 px touch-screen browser that asks for Chinese."""
    context = _phone(browser, live_server, 390)
    try:
        yield context.new_page()
    finally:
        context.close()


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than the screen (0: no horizontal scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def _visited(shop: Any, by: Any, days_ago: int) -> None:
    StoreVisit.objects.create(
        store=shop, visitor=by, visited_on=timezone.localdate() - dt.timedelta(days=days_ago),
        idempotency_key=uuid.uuid4(), **vars(NOTES),
    )  # fmt: skip


@pytest.mark.browser
def test_a_grid_manager_logs_a_visit_on_a_phone_and_a_double_tap_logs_it_once(
    phone: Any, tree: factories.Tree, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # Given a grid manager with an overdue key store, a store never visited and one on plan
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    overdue = store(tree.grid_a, grade=StoreGrade.KEY, name="珠江新城合作店")
    never = store(tree.grid_a, grade=StoreGrade.SMALL, name="体育西社会渠道")
    fine = store(tree.grid_a, grade=StoreGrade.KEY, name="天河北自营厅")
    _visited(overdue, manager, 12)
    _visited(fine, manager, 1)
    submit_login(phone, username=manager.get_username(), password=factories.PASSWORD)

    # When they open the stores due a visit on a 390 px phone
    phone.goto("/visits/")

    # Then the overdue store comes first, then the one never visited, each a card, and
    # nothing is wider than the screen
    cards = phone.locator("#due-stores > li")
    expect(cards).to_have_count(2)
    assert cards.nth(0).get_attribute("id") == f"due-{overdue.pk}"
    assert cards.nth(1).get_attribute("id") == f"due-{never.pk}"
    assert _overflow(phone) == 0

    # When they tap "log a visit" on the overdue store and fill in the four points and
    # one commitment of the partner
    cards.nth(0).locator("a.log-visit").tap()
    expect(phone).to_have_url(re.compile(rf"/visits/stores/{overdue.pk}/new/$"))
    assert _overflow(phone) == 0
    phone.fill("#id_how_are_things", "周末客流回升")
    phone.fill("#id_new_plans", "下月办社区活动")
    phone.fill("#id_our_support", "补一批宣传物料")
    phone.fill("#id_their_commitment", "本月办20张5G卡")
    phone.select_option("#id_c-0-side", CommitmentSide.PARTNER.value)
    phone.fill("#id_c-0-what", "办20张5G卡")
    phone.fill("#id_c-0-due_on", (timezone.localdate() + dt.timedelta(days=14)).isoformat())
    save = phone.locator("#save-visit")
    save.scroll_into_view_if_needed()
    box = save.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["width"] <= 390

    # and tap save twice in quick succession
    save.dblclick()

    # Then they land on the visit, which was logged once, by them, with one commitment
    expect(phone).to_have_url(re.compile(r"/visits/\d+/$"))
    expect(phone.locator("#visit-notes")).to_contain_text("周末客流回升")
    assert _overflow(phone) == 0
    visit = StoreVisit.objects.get(store=overdue, visitor=manager, visited_on=timezone.localdate())
    assert phone.url.endswith(f"/visits/{visit.pk}/")
    assert StoreVisit.objects.filter(store=overdue).count() == 2  # the old one and this one
    assert list(Commitment.objects.values_list("what", flat=True)) == ["办20张5G卡"]
    phone.screenshot(path=str(tmp_path / "visit-phone.png"), full_page=True)

    # and the store is off the due list
    phone.goto("/visits/")
    expect(phone.locator("#due-stores > li")).to_have_count(1)


@pytest.mark.browser
@pytest.mark.parametrize("width", PHONES)
def test_the_visit_pages_fit_every_phone_width(
    browser: Any, live_server: Any, transactional_db: None, tree: factories.Tree, width: int
) -> None:
    # Given a store with a visit, a commitment and an issue, its manager and its partner
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    shop = store(tree.grid_a, name="珠江新城一个名字相当长的合作伙伴门店（旗舰）")
    partner = partner_of(shop)
    _visited(shop, manager, 20)
    visit = StoreVisit.objects.get()
    Commitment.objects.create(
        visit=visit, store=shop, side=CommitmentSide.OURS, what="补发物料" * 10,
        due_on=timezone.localdate() - dt.timedelta(days=3),
    )  # fmt: skip
    context = _phone(browser, live_server, width)
    try:
        page = context.new_page()
        submit_login(page, username=manager.get_username(), password=factories.PASSWORD)
        # When each visits page is opened at this width: nothing is wider than the screen
        for url in (
            "/visits/", f"/visits/stores/{shop.pk}/new/", f"/visits/{visit.pk}/",
            "/visits/commitments/", "/visits/issues/",
        ):  # fmt: skip
            page.goto(url)
            assert _overflow(page) == 0, url
        context.clear_cookies()
        submit_login(page, username=partner.get_username(), password=factories.PASSWORD)
        page.goto(f"/partner/stores/{shop.pk}/")
        assert page.locator("#partner-visits").is_visible()
        assert _overflow(page) == 0
    finally:
        context.close()
