"""The grid map in Chromium (issue 16): the grid polygons drawn by ECharts with no tile
server, drill-down from the county to a grid to its customers, at 390 px; another scope's
grids are not drawn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quanwang.core.choices import Role
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, submit_login
from tests.channels.test_geo_pages import load_city

PHONE = {"width": 390, "height": 844}
CHART = "echarts.getInstanceByDom(document.getElementById('grid-map'))"


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


def drawn(page: Any) -> list[str]:
    return list(page.evaluate(f"{CHART}.getOption().series[0].data.map(d => d.name)"))


def click_at(page: Any, lon: float, lat: float) -> None:
    """Click the map where (lon, lat) is drawn."""
    x, y = page.evaluate(f"{CHART}.convertToPixel({{seriesIndex: 0}}, [{lon}, {lat}])")
    box = page.locator("#grid-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def overflow(page: Any) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.browser
def test_a_county_manager_drills_down_to_a_grids_customers_on_a_phone(
    phone: Any, tree: factories.Tree, tmp_path: Path, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    # Given county A's manager, the city's grids assigned, on a 390 px phone
    load_city(tree, tmp_path)
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    submit_login(phone, username=manager.get_username(), password=factories.PASSWORD)

    # When they open the map: county A's grids are drawn (not city B's), within the screen
    phone.goto("/channels/map/")
    expect(phone.locator("#grid-map[data-ready='1']")).to_have_count(1)
    assert sorted(drawn(phone)) == ["CA-1-G1", "CA-1-G2"]
    assert overflow(phone) == 0
    assert phone.locator("#grid-map canvas").count() >= 1

    # and tap grid A: the map opens its county
    click_at(phone, 113.002, 23.008)
    expect(phone.locator("#map-crumbs a")).to_have_count(2)
    assert phone.locator("#map-county").input_value() == tree.county_a.code

    # and tap it again: its panel links to its customers
    click_at(phone, 113.002, 23.008)
    panel = phone.locator("#grid-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("p.muted")).to_have_text("CA-1-G1")
    phone.screenshot(path=str(artifacts / "map-grid-panel.png"), full_page=True)
    panel.locator("a[href*='/subscribers/']").tap()

    # Then the grid's customers are listed, masked
    expect(phone.locator("#grid-points")).to_contain_text("SA1")
    expect(phone.locator("#grid-points")).to_contain_text("张**")
    assert overflow(phone) == 0


@pytest.mark.browser
def test_the_kpi_chosen_colours_the_map(page: Any, tree: factories.Tree, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    load_city(tree, tmp_path)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    submit_login(page, username=admin.get_username(), password=factories.PASSWORD)

    page.goto("/channels/map/?kpi=geo:stores")
    expect(page.locator("#grid-map[data-ready='1']")).to_have_count(1)

    values = page.evaluate(
        f"Object.fromEntries({CHART}.getOption().series[0].data.map(d => [d.name, d.value]))"
    )
    assert values["CA-1-G1"] == 1
    assert sorted(drawn(page)) == ["CA-1-G1", "CA-1-G2", "CB-1-G1"]
