"""A grid manager's scorecard on a phone (390 px) in Chromium: no horizontal scrolling, the trend
chart drawn and redrawn for another indicator, and a figure's facts one tap away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quanwang.channels.scorecards.services.kept import build_scorecards
from tests.browser.conftest import (  # noqa: F401 (fixtures)
    TIMEOUT_MS,
    artifacts,
    browser,
    live_server,
    submit_login,
)
from tests.channels.test_scorecards_world import JUNE, World, load_world, put_snapshot
from tests.factories import PASSWORD

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def _overflow(page: Any) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.browser
def test_a_grid_manager_reads_their_scorecard_on_a_phone(
    phone: Any,
    tmp_path: Path,
    artifacts: Path,  # noqa: F811
) -> None:
    # Given G1's manager and the scorecards of the small operator
    world = World()
    load_world(tmp_path)
    put_snapshot(JUNE)
    build_scorecards()
    submit_login(phone, username=world.grid_manager.get_username(), password=PASSWORD)
    # When they open their grid's scorecard on a 390 px phone
    phone.goto(f"/channels/scorecards/grids/G1/?month={JUNE}")
    # Then nothing makes the page scroll sideways, and the trend chart is drawn
    phone.wait_for_selector("#trend-chart canvas")
    phone.wait_for_selector("#pnl-chart canvas")
    assert _overflow(phone) == 0
    assert phone.locator("#kpi-customers .kpi-value").inner_text().strip() == "4"
    phone.screenshot(path=str(artifacts / "grid-scorecard-390.png"), full_page=True)
    # When they choose another indicator, the chart is drawn again without a reload
    phone.select_option("#trend-kpi", "churn_rate")
    assert phone.locator("#trend-chart canvas").count() >= 1
    # When they tap the churns behind the churn rate
    phone.locator("#kpi-churn_rate .kpi-parts a").first.tap()
    phone.wait_for_selector("#facts")
    # Then the facts list the one customer who left, masked, still within the screen
    assert phone.locator("#facts tbody tr").count() == 1
    assert "S4" in phone.locator("#facts").inner_text()
    assert _overflow(phone) == 0


@pytest.mark.browser
def test_a_county_ranking_fits_a_phone(
    phone: Any,
    tmp_path: Path,
    artifacts: Path,  # noqa: F811
) -> None:
    world = World()
    load_world(tmp_path)
    build_scorecards()
    submit_login(phone, username=world.county_manager.get_username(), password=PASSWORD)
    phone.goto("/channels/scorecards/counties/C1/?kpi=churn_rate")
    phone.wait_for_selector("#ranking")
    assert phone.locator("#ranking tbody tr").count() == 2
    phone.screenshot(path=str(artifacts / "county-ranking-390.png"), full_page=True)
    assert _overflow(phone) == 0
