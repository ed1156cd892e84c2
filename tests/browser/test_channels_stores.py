"""The store page on a phone (360–414 px) in Chromium: nothing wider than the screen, the grade
with its reasons, the contact revealed with a reason in place, the stage changed with history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quanwang.channels.models import StageChange, Store
from quanwang.channels.stores.regrading import regrade
from quanwang.core.choices import Role
from quanwang.core.models import AuditRecord
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, submit_login
from tests.channels.test_stores_grading import _city

WIDTHS = (360, 390, 414)


@pytest.fixture
def graded_city(tree: factories.Tree, tmp_path: Path, transactional_db: None) -> None:
    _city(tree, tmp_path)
    Store.objects.filter(store_id="S5").update(owner_name="王大明", contact_msisdn="13912345678")
    regrade(month="2024-06")


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
def phones(browser: Any, live_server: Any) -> Iterator[dict[int, Any]]:
    contexts = {width: _phone(browser, live_server, width) for width in WIDTHS}
    try:
        yield {width: context.new_page() for width, context in contexts.items()}
    finally:
        for context in contexts.values():
            context.close()


def _overflow(page: Any) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.browser
def test_store_page_on_a_phone(
    phones: dict[int, Any], tree: factories.Tree, graded_city: None, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # given grid A's manager, and the key store S5 of their grid
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    for width, phone in phones.items():
        submit_login(phone, username=manager.get_username(), password=factories.PASSWORD)
        # when they open the store list and the store page at each phone width
        phone.goto("/channels/stores/")
        assert _overflow(phone) == 0, f"store list wider than {width} px"
        phone.goto("/channels/stores/S5/")
        # then nothing is wider than the screen, and the grade shows with its reasons
        assert _overflow(phone) == 0, f"store page wider than {width} px"
        expect(phone.locator("#grade")).to_contain_text("重点店")
        expect(phone.locator("#grade table.reasons tbody tr")).to_have_count(5)
        expect(phone.locator("#contact")).to_have_text("139****5678")
        phone.screenshot(path=str(tmp_path / f"store-{width}.png"), full_page=True)

    phone = phones[390]
    # when they reveal the contact with a reason, in place
    phone.locator("#reveal input[name=reason]").fill("回访店主")
    phone.locator("#reveal button[type=submit]").tap()
    # then the full number shows without leaving the page, and the view is recorded
    expect(phone.locator("#reveal .full-mobile")).to_have_text("13912345678")
    assert phone.url.endswith("/channels/stores/S5/")
    assert AuditRecord.objects.filter(reason="回访店主", actor=manager).count() == 1

    # when they move the partner to 谈恋爱 with a reason
    phone.select_option("#stage select[name=stage]", "谈恋爱")
    phone.locator("#stage input[name=reason]").fill("本月主动参加社区活动")
    with phone.expect_navigation():
        phone.locator("#stage button[type=submit]").tap()
    # then the history shows it, still within the screen
    expect(phone.locator("#stage table")).to_contain_text("本月主动参加社区活动")
    assert _overflow(phone) == 0
    change = StageChange.objects.get(reason="本月主动参加社区活动")
    assert change.changed_by == manager
