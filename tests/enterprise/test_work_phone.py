"""An account manager's visits on a phone (390 px) in Chromium: the due list, the visit form
with the account's key persons, saved once even when tapped twice, and the portfolio — no
sideways scrolling anywhere."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from quanwang.enterprise.models import EnterpriseVisit
from tests.browser.conftest import (  # noqa: F401 (fixtures)
    TIMEOUT_MS,
    artifacts,
    browser,
    live_server,
    submit_login,
)
from tests.enterprise import persons_factories as pf
from tests.enterprise.work_world import build, visit
from tests.factories import PASSWORD, Tree

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
def test_an_account_manager_logs_a_visit_on_a_phone(
    phone: Any,
    artifacts: Path,  # noqa: F811
) -> None:
    # Given the junior manager's three accounts, A overdue, and a key person at A
    world = build(Tree())
    today = timezone.localdate()
    visit(account=world.a, visitor=world.am, on=today - dt.timedelta(days=20))
    boss = pf.person(name="赵总")
    pf.role(account=world.a, person=boss)
    submit_login(phone, username=world.am_user.get_username(), password=PASSWORD)
    # When they open their due list on a 390 px phone
    phone.goto("/enterprise/visits/")
    phone.wait_for_selector("#due-accounts")
    # Then A comes first, overdue, and nothing scrolls sideways
    assert phone.locator("#due-accounts li").first.get_attribute("id") == f"due-{world.a.pk}"
    assert _overflow(phone) == 0
    phone.screenshot(path=str(artifacts / "enterprise-visits-due-390.png"), full_page=True)
    # When they tap "log a visit", tick the key person, write the outcome and tap save twice
    phone.locator(f"#due-{world.a.pk} .log-visit").tap()
    phone.wait_for_selector("#visit-form")
    assert _overflow(phone) == 0
    phone.select_option("#id_purpose", "solution")
    phone.locator("#id_persons_met input[type=checkbox]").first.check()
    phone.fill("#id_outcome", "客户同意5G专网试点")
    phone.fill("#id_next_step", "下周送方案")
    phone.fill("#id_follow_up_on", (today + dt.timedelta(days=7)).isoformat())
    phone.screenshot(path=str(artifacts / "enterprise-visit-form-390.png"), full_page=True)
    phone.locator("#save-visit").dblclick()
    # (polled, not wait_for_url: the second tap's submission aborts the first navigation,
    # which wait_for_url reports as an error although the page lands on the visit)
    expect(phone).to_have_url(re.compile(r"/enterprise/visits/\d+/$"), timeout=TIMEOUT_MS)
    # Then one visit is saved, with the person met shown masked
    saved = EnterpriseVisit.objects.exclude(outcome="谈了专线扩容")
    assert saved.count() == 1
    assert list(saved.get().persons_met.all()) == [boss]
    assert "赵*" in phone.locator("#persons-met").inner_text()
    assert _overflow(phone) == 0
    # And the portfolio fits the phone too
    phone.goto("/enterprise/my-portfolio/")
    phone.wait_for_selector("#portfolio-accounts")
    assert _overflow(phone) == 0
    phone.screenshot(path=str(artifacts / "enterprise-portfolio-390.png"), full_page=True)
