"""A partner store's task list on the partner's phone (issue 16): 390 px wide, in Chinese, its
own store's customers only, an outcome recorded by tapping, in place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.models import Campaign, TaskOutcome
from quanwang.campaigns.tasks import TaskState
from quanwang.channels.models import Store
from quanwang.core.choices import Role
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, submit_login
from tests.campaigns.channel_support import campaign_of_files, store, task_plan
from tests.campaigns.conftest import load_city_warehouse

PHONE = {"width": 390, "height": 844}
MINE = [f"S{i:03d}" for i in range(0, 8)]  # ST-A1's list
THEIRS = [f"S{i:03d}" for i in range(8, 14)]  # ST-A2's


@pytest.fixture
def phone(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def _campaign(tree: factories.Tree, tmp_path: Path) -> Campaign:
    load_city_warehouse(tree, tmp_path)
    a = tree.grid_a
    campaign = campaign_of_files(
        org_unit=tree.province, audience=[(s, a.code, False) for s in MINE + THEIRS]
    )
    task_plan(
        campaign, [(s, a.code, "ST-A1") for s in MINE] + [(s, a.code, "ST-A2") for s in THEIRS]
    )
    store("ST-A1", grid=a, name="甲1店")
    store("ST-A2", grid=a, name="甲2店")
    return campaign


@pytest.mark.browser
def test_a_partner_works_its_stores_task_list_on_a_phone(
    phone: Any, tree: factories.Tree, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # Given ST-A1's partner login, on a 390 px phone
    campaign = _campaign(tree, tmp_path)
    partner = factories.user(role=Role.CHANNEL_PARTNER, at=tree.grid_a)
    Store.objects.get(store_id="ST-A1").partners.add(partner)
    submit_login(phone, username=partner.get_username(), password=factories.PASSWORD)

    # When it opens the task list: its own store's eight customers, as cards, in Chinese,
    # nothing wider than the screen
    phone.goto("/campaigns/tasks/")
    cards = phone.locator("#tasks tbody tr")
    expect(cards).to_have_count(len(MINE))
    for customer in THEIRS:
        expect(phone.locator(f"#task-{campaign.pk}-{customer}")).to_have_count(0)
    assert cards.first.evaluate("e => getComputedStyle(e).display") == "block"
    assert phone.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert phone.locator("html").get_attribute("lang") == "zh-hans"

    # And taps "accepted" on its third customer, with a note
    task = phone.locator(f"#task-{campaign.pk}-{MINE[2]}")
    task.locator("input[name=note]").fill("到店办理")
    accept = task.locator("button[value=accepted]")
    accept.scroll_into_view_if_needed()
    phone.evaluate("window.notReloaded = true")
    accept.tap()

    # Then the card shows it, in place, and it is kept with the store, by the partner
    with translation.override("zh-hans"):
        accepted = str(TaskState.ACCEPTED.label)
    expect(task.locator("td.outcome")).to_contain_text(accepted)
    assert phone.evaluate("window.notReloaded") is True
    [row] = TaskOutcome.objects.all()
    assert (row.subscriber_id, row.store_id, row.outcome) == (
        MINE[2], "ST-A1", ContactOutcome.ACCEPTED,
    )  # fmt: skip
    assert row.recorded_by == partner

    # And another store's customers stay out of reach: asking for ST-A2's list lists none
    phone.goto("/campaigns/tasks/?store=ST-A2")
    expect(phone.locator("#tasks tbody tr[id^=task-]")).to_have_count(0)
    for customer in THEIRS:
        expect(phone.locator(f"#task-{campaign.pk}-{customer}")).to_have_count(0)
