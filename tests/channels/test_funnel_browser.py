"""The grid's funnel on a grid manager's phone: 390 px wide, both charts drawn, no horizontal
scrolling of the page (wide tables scroll inside themselves)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from quanwang.core.choices import Role
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, artifacts, browser, live_server, submit_login
from tests.channels.test_funnel_pages import world

__all__ = ["artifacts", "browser", "live_server", "world"]

PHONE = {"width": 390, "height": 844}


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


@pytest.mark.browser
def test_a_grid_manager_reads_the_funnel_and_what_moved_it_on_a_phone(
    phone: Any, world: factories.Tree, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    # Given grid A's manager on a 390 px phone
    manager = factories.user(role=Role.GRID_MANAGER, at=world.grid_a)
    submit_login(phone, username=manager.get_username(), password=factories.PASSWORD)
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))

    # When they open their grid's funnel for June
    url = reverse("channels:funnel-grid", args=[world.grid_a.code]) + "?month=2024-06"
    phone.goto(url)

    # Then the funnel and the waterfall are drawn, the page does not scroll sideways, and no
    # script failed
    for kind in ("funnel", "waterfall"):
        expect(phone.locator(f'[data-funnel-chart="{kind}"] canvas')).to_have_count(1)
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    chart_width = phone.locator('[data-funnel-chart="waterfall"]').bounding_box()["width"]
    assert 200 < chart_width <= 390
    assert errors == []
    phone.screenshot(path=str(artifacts / "funnel-grid-390.png"), full_page=True)
