"""The visual segment builder in Chromium: a rule with a nested group and a 否 condition built
with the mouse is saved with `false`; a saved segment reopens in the builder and is edited as a
new version; on a phone (390 px) nothing scrolls sideways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quanwang.campaigns.models import Segment
from quanwang.campaigns.rules import describe
from quanwang.campaigns.segments import preview, save_segment
from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.browser.conftest import TIMEOUT_MS
from tests.campaigns.conftest import build_city
from tests.campaigns.sandboxing import english_words

PHONE = {"width": 390, "height": 844}
NOT_EXPIRING = {"field": "contract_expiring_3m", "op": "is", "value": False}
RICH_OR_KEY = {
    "any": [
        {"field": "arpu_3m", "op": ">=", "value": 100},
        {"field": "value_tier", "op": "in", "value": ["key"]},
    ]
}
# Codes, units and file formats a Chinese page may show.
PAGE_WORDS = {"ARPU", "MOU", "DOU", "GB", "CLV", "PageRank", "JSON", "CSV", "XLSX", "ID", "IPTV"}


@pytest.fixture
def city(tree: factories.Tree, tmp_path: Path) -> Snapshot:
    return build_city(tree, tmp_path)


def horizontal_overflow(page: Any) -> int:
    """How many pixels the page is wider than the screen (0: no horizontal scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def build_the_rule(page: Any) -> None:
    """合约3个月内到期 = 否, and (近3月ARPU ≥ 100 or 主顾客), with the mouse and the search box."""
    page.click("#add-condition")
    first = page.locator("#conditions > table > tbody > tr").nth(0)
    first.locator(".field-search").fill("合约3个月")
    first.locator("select.value-bool").select_option("false")
    page.click("#add-group")
    inner = page.locator("#conditions > .subgroups > .rule-group").nth(0)
    rich = inner.locator("tbody tr").nth(0)
    rich.locator("select.field").select_option("arpu_3m")
    rich.locator("select.op").select_option(">=")
    rich.locator("input.value-input").fill("100")
    inner.locator(".add-condition").click()
    tier = inner.locator("tbody tr").nth(1)
    tier.locator("select.field").select_option("value_tier")
    tier.locator(".value-codes input[value=key]").check()


@pytest.mark.browser
def test_a_rule_with_a_nested_group_and_a_no_is_saved_with_false(
    page: Any, log_in: Any, tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # Given a city marketer on the segments page, and what the service counts for the rule
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    rule = {"all": [NOT_EXPIRING, RICH_OR_KEY]}
    expected = preview(user=user, rule=rule)
    log_in(user)
    page.goto("/campaigns/segments/")

    # When they build it: 合约3个月内到期 = 否, and a nested OR group
    build_the_rule(page)

    # Then the JSON view holds false, and the live preview reads the rule and counts it
    page.click("#rule-json summary")
    assert page.locator("#id_rule").input_value().count('"value": false') == 1
    expect(page.locator("#preview-text")).to_have_text(
        describe(rule, language="zh"), timeout=TIMEOUT_MS
    )
    expect(page.locator("#preview-count")).to_contain_text(str(expected.count), timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "builder.png"), full_page=True)

    # When they name it and save it
    page.fill("#id_name", "未到期的高价值客户")
    with page.expect_navigation():
        page.click("#save-segment")

    # Then version 1 holds false for 否, and its page shows it
    segment = Segment.objects.get(name="未到期的高价值客户")
    [version] = segment.versions.all()
    assert version.rule == rule
    assert version.rule["all"][0]["value"] is False
    assert page.url.endswith(f"/campaigns/segments/{segment.pk}/?saved={version.pk}")
    expect(page.locator("#versions tbody tr")).to_have_count(1)


@pytest.mark.browser
def test_a_saved_segment_reopens_in_the_builder_and_an_edit_is_a_new_version(
    page: Any, log_in: Any, tree: factories.Tree, city: Snapshot
) -> None:
    from playwright.sync_api import expect

    # Given a city marketer's saved segment "not expiring, and (ARPU ≥ 100 or key)"
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    first = save_segment(
        actor=user, name="高价值", rule={"all": [NOT_EXPIRING, RICH_OR_KEY]}, org_unit=tree.city_a
    )
    log_in(user)

    # When they open it: the builder shows its rows, the 否 as 否; they change 100 to 150
    page.goto(f"/campaigns/segments/{first.segment_id}/")
    root_rows = page.locator("#conditions > table > tbody > tr")
    expect(root_rows).to_have_count(1)
    expect(root_rows.nth(0).locator("select.value-bool")).to_have_value("false")
    expect(page.locator("#conditions .subgroups .rule-group tbody tr")).to_have_count(2)
    arpu = page.locator("#conditions .subgroups tbody tr").nth(0).locator("input.value-input")
    expect(arpu).to_have_value("100")
    arpu.fill("150")
    with page.expect_navigation():
        page.click("#save-segment")

    # Then v2 holds the change, the 否 still false; v1 is as it was
    versions = {v.number: v.rule for v in Segment.objects.get(pk=first.segment_id).versions.all()}
    assert versions[1] == first.rule
    assert versions[2]["all"][0] == NOT_EXPIRING
    assert versions[2]["all"][1]["any"][0]["value"] == 150


@pytest.mark.browser
def test_the_builder_fits_a_phone_and_speaks_chinese(
    page: Any, log_in: Any, tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # Given a city marketer on a phone, with a province segment to look at
    province = save_segment(
        actor=None, name="省级未到期", rule={"all": [NOT_EXPIRING]}, org_unit=tree.province
    )
    log_in(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    page.set_viewport_size(PHONE)

    # When they build a rule with a nested group, and open the province's segment
    page.goto("/campaigns/segments/")
    build_the_rule(page)
    page.click("#rule-json summary")
    expect(page.locator("#preview-count")).to_be_visible(timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "phone-builder.png"), full_page=True)
    builder_overflow = horizontal_overflow(page)
    builder_words = english_words(page.content())
    page.goto(f"/campaigns/segments/{province.segment_id}/")
    expect(page.locator("#preview-count")).to_be_visible(timeout=TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "phone-province.png"), full_page=True)

    # Then nothing scrolls sideways, the province's is read-only, and no English shows
    assert (builder_overflow, horizontal_overflow(page)) == (0, 0)
    expect(page.locator("#read-only-note")).to_be_visible()
    assert page.locator("#save-segment").count() == 0
    assert [w for w in builder_words + english_words(page.content()) if w not in PAGE_WORDS] == []


@pytest.mark.browser
def test_a_no_typed_into_the_json_view_redraws_the_builder_and_is_saved_as_false(
    page: Any, log_in: Any, tree: factories.Tree, city: Snapshot
) -> None:
    from playwright.sync_api import expect

    # Given a city marketer on the segments page, with the JSON view open
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    expected = preview(user=user, rule={"all": [NOT_EXPIRING]})
    log_in(user)
    page.goto("/campaigns/segments/")
    page.click("#rule-json summary")

    # When they type a rule whose yes/no value is the word 否
    page.fill("#id_rule", '{"all": [{"field": "contract_expiring_3m", "op": "is", "value": "否"}]}')

    # Then the builder shows the condition with 否 and the preview counts the "no" customers
    row = page.locator("#conditions > table > tbody > tr")
    expect(row).to_have_count(1, timeout=TIMEOUT_MS)
    expect(row.locator("select.field")).to_have_value("contract_expiring_3m")
    expect(row.locator("select.value-bool")).to_have_value("false")
    expect(page.locator("#preview-count")).to_contain_text(str(expected.count), timeout=TIMEOUT_MS)

    # When they save it, it is stored with false
    page.fill("#id_name", "合约未到期")
    with page.expect_navigation():
        page.click("#save-segment")
    assert Segment.objects.get(name="合约未到期").versions.get().rule == {"all": [NOT_EXPIRING]}
