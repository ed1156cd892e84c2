"""The offer catalogue on a phone: a city marketer creates an offer at 390 px wide."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from quanwang.campaigns.models import Offer
from quanwang.core.choices import Role
from tests import factories

PHONE = {"width": 390, "height": 844}


def horizontal_overflow(page: Any) -> int:
    """How many pixels the page is wider than the screen (0: no horizontal scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.browser
def test_a_city_marketer_creates_an_offer_on_a_phone(page: Any, log_in: Any) -> None:
    # Given a city marketer on a phone-sized screen, with a province offer in the catalogue
    tree = factories.Tree()
    today = dt.date.today()
    Offer.objects.create(
        code="PROV-GIFT", name="续约送蓝牙耳机", offer_type="gift", org_unit=tree.province,
        valid_from=today, valid_until=today + dt.timedelta(days=90),
        description="续约两年的客户到厅领取蓝牙耳机一副，数量有限，送完为止。" * 3,
    )  # fmt: skip
    log_in(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    page.set_viewport_size(PHONE)

    # When they open the catalogue, then fill in and send the new-offer form
    page.goto("/campaigns/offers/")
    list_overflow = horizontal_overflow(page)
    page.click("#new-offer")
    form_overflow = horizontal_overflow(page)
    page.fill("input[name=code]", "CA-RED-10")
    page.fill("input[name=name]", "本市5G升档红包10元")
    page.select_option("select[name=offer_type]", "red_packet")
    page.fill("input[name=cost_per_taker]", "10")
    page.fill("input[name=valid_from]", str(today))
    page.fill("input[name=valid_until]", str(today + dt.timedelta(days=30)))
    page.check("input[name=eligible_tiers][value=key]")
    with page.expect_navigation():
        page.click("main form button[type=submit]")

    # Then the offer is the city's and listed beside the province's, and neither page
    # scrolled sideways
    assert Offer.objects.get(code="CA-RED-10").org_unit == tree.city_a
    assert page.locator("#offers .offer-card").count() == 2
    assert (list_overflow, form_overflow, horizontal_overflow(page)) == (0, 0, 0)
