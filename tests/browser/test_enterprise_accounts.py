"""The account pages on a phone (360–414 px) in Chromium: the list, the account 360 page and the
enterprise dashboard are no wider than the screen; a team member is added from the phone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from quanwang.core.choices import Role
from quanwang.enterprise.choices import AccountGrade, TeamRole
from quanwang.enterprise.models import AccountMember, AccountProduct, AccountTeamMember
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, submit_login
from tests.enterprise import factories as ent

WIDTHS = (360, 390, 414)


@pytest.fixture
def phones(browser: Any, live_server: Any) -> Iterator[dict[int, Any]]:
    contexts = {
        width: browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            viewport={"width": width, "height": 800},
            is_mobile=True,
            has_touch=True,
        )
        for width in WIDTHS
    }
    for context in contexts.values():
        context.set_default_timeout(TIMEOUT_MS)
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
def test_account_pages_on_a_phone(
    phones: dict[int, Any], tree: factories.Tree, transactional_db: None
) -> None:
    from playwright.sync_api import expect

    # given an account manager leading a group with a long-named branch, a member, a product
    login = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.county_a)
    staff = factories.staff(at=tree.county_a, employee_no="AM1", name="王经理")
    staff.user = login
    staff.save()
    factories.staff(at=tree.county_a, employee_no="AM2", name="李工")
    group = ent.account(
        at=tree.grid_a, enterprise_id="GA", name="广州甲物流集团股份有限公司", grade=AccountGrade.A
    )
    branch = ent.account(
        at=tree.grid_a,
        enterprise_id="GA-1",
        name="广州甲物流集团股份有限公司天河区分公司第一营业部",
        parent=group,
    )
    for account in (group, branch):
        ent.on_team(account=account, staff=staff)
    AccountMember.objects.create(
        account=group, enterprise_id="GA", subscriber_id="SA1", msisdn="13812345678"
    )
    AccountProduct.objects.create(
        account=group,
        enterprise_id="GA",
        product_instance_id="PI-00000000001",
        product="5G专网",
        contract_end=dt.date.today() + dt.timedelta(days=20),
        monthly_fee_fen=1_250_000,
    )
    for width, phone in phones.items():
        submit_login(phone, username=login.get_username(), password=factories.PASSWORD)
        # when they open each page at each phone width, nothing is wider than the screen
        for url in ("/enterprise/", "/enterprise/accounts/", "/enterprise/accounts/GA/"):
            phone.goto(url)
            assert _overflow(phone) == 0, f"{url} wider than {width} px"
        expect(phone.locator("#products .ending-soon")).to_have_count(1)
        expect(phone.locator("#members")).to_contain_text("138****5678")

    # when they add a colleague from the phone
    phone = phones[390]
    phone.fill("#team input[name=employee_no]", "AM2")
    phone.select_option("#team select[name=role]", TeamRole.SOLUTION.value)
    phone.locator("#team form").first.locator("button[type=submit]").click()
    # then the colleague is on the team, shown on the page
    expect(phone.locator("#team table")).to_contain_text("李工")
    assert AccountTeamMember.objects.filter(account=group, staff__employee_no="AM2").exists()
