"""The task list on a grid manager's phone (issue 15): 390 px wide, no horizontal scrolling,
an outcome recorded by tapping, in place: no reload, no jump to the top."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.models import Campaign, TaskOutcome
from quanwang.campaigns.services import transition
from quanwang.campaigns.tasks import TaskState, task_list
from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, submit_login
from tests.campaigns.conftest import (
    TODAY,
    approved,
    build_city,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def city(tree: factories.Tree, tmp_path: Path) -> Snapshot:
    return build_city(tree, tmp_path)


@pytest.fixture
def phone(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """A phone-sized, touch-screen browser that asks for Chinese."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def _zh(label: Any) -> str:
    with translation.override("zh-hans"):
        return str(label)


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than the screen (0: no horizontal scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.browser
def test_a_grid_manager_records_an_outcome_on_a_phone_by_tapping(
    phone: Any, tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # Given grid A's manager with an issued campaign's tasks, on a 390 px phone
    load_city_warehouse(tree, tmp_path)
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    dispatch_tasks(designer, campaign)
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    rows = task_list(user=manager).rows
    assert len(rows) > 6
    submit_login(phone, username=manager.get_username(), password=factories.PASSWORD)

    # When they open the task list: each task is a card, and nothing is wider than the screen
    phone.goto("/campaigns/tasks/")
    assert _overflow(phone) == 0
    cards = phone.locator("#tasks tbody tr")
    expect(cards).to_have_count(len(rows))
    assert cards.first.evaluate("e => getComputedStyle(e).display") == "block"

    # and, scrolled down to the sixth, note the visit and tap "accepted"
    customer = rows[5].subscriber_id
    task = phone.locator(f"#task-{campaign.pk}-{customer}")
    accept = task.locator("button[value=accepted]")
    task.locator("input[name=note]").fill("办理续约")
    accept.scroll_into_view_if_needed()
    scrolled = phone.evaluate("window.scrollY")
    phone.evaluate("window.notReloaded = true")
    accept.tap()

    # Then the card shows the outcome and the count went up, without a reload or a scroll to
    # the top, and still nothing is wider than the screen
    expect(task.locator("td.outcome")).to_contain_text(_zh(TaskState.ACCEPTED.label))
    expect(task.locator("td.outcome")).to_contain_text("办理续约")
    expect(phone.locator("#count-accepted .num")).to_have_text("1")
    assert phone.evaluate("window.notReloaded") is True
    # (the browser's scroll anchoring may keep the card below in place as this one grows)
    assert scrolled > 0
    assert abs(phone.evaluate("window.scrollY") - scrolled) < 100
    box = accept.bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= PHONE["height"]
    assert phone.url.endswith("/campaigns/tasks/")
    assert phone.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )

    # When the tap comes again at once (a double tap), on the card that replaced the first
    accept.tap()
    expect(task.locator("td.outcome")).to_contain_text("办理续约")
    screenshot = tmp_path / "task-list-phone.png"
    phone.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # and the double tap recorded one attempt, by the manager
    [row] = TaskOutcome.objects.all()
    assert (row.campaign_id, row.subscriber_id) == (campaign.pk, customer)
    assert (row.outcome, row.note, row.attempts) == (ContactOutcome.ACCEPTED, "办理续约", 1)
    assert row.recorded_by == manager
    assert Campaign.objects.get().pk == campaign.pk
