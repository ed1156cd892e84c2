"""Money, counts, shares and names as the console writes them (core.formatting and the
`quanwang_format` template filters)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext
from hypothesis import given
from hypothesis import strategies as st

from quanwang.core import formatting
from quanwang.core.models import OrgUnit
from tests import factories

NUMBER = r"-?\d{1,3}(?:,\d{3})*"
COUNT = re.compile(f"^{NUMBER}$")

amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=4
)


def _unit_pattern(template: str, decimals: int) -> re.Pattern[str]:
    """What the console writes for an amount in this language's words (`template` with
    %(amount)s), as a pattern whose group is the number."""
    before, after = template.split("%(amount)s")
    return re.compile(f"^{re.escape(before)}({NUMBER}\\.\\d{{{decimals}}}){re.escape(after)}$")


def parse_yuan(text: str) -> Decimal:
    match = _unit_pattern(gettext("%(amount)s yuan"), 2).match(text)
    assert match, text
    return Decimal(match.group(1).replace(",", ""))


def parse_wan(text: str) -> Decimal:
    match = _unit_pattern(gettext("%(amount)s × 10k yuan"), 1).match(text)
    assert match, text
    return Decimal(match.group(1).replace(",", "")) * 10_000


@pytest.fixture(autouse=True)
def chinese() -> Any:
    with translation.override("zh-hans"):
        yield


@given(amounts)
def test_an_amount_in_yuan_reads_back_as_the_same_value_to_the_fen(amount: Decimal) -> None:
    written = formatting.yuan(amount)

    assert parse_yuan(written) == amount.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


@given(amounts)
def test_an_amount_in_wan_yuan_reads_back_within_half_a_tenth(amount: Decimal) -> None:
    written = formatting.wan_yuan(amount)

    assert abs(parse_wan(written) - amount) <= 500


@given(amounts)
def test_a_large_amount_is_in_wan_yuan_with_the_exact_one_on_hover(amount: Decimal) -> None:
    written = str(formatting.money(amount))

    if abs(amount) >= 100_000:
        match = re.match(r'<span class="money" title="([^"]+)">([^<]+)</span>', written)
        assert match, written
        hover, shown = match.groups()
        assert parse_yuan(hover) == amount.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert abs(parse_wan(shown) - amount) <= 500
    else:
        assert parse_yuan(written) == amount.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_a_count_reads_back_as_the_same_integer(n: int) -> None:
    written = formatting.count(float(n) if abs(n) < 2**53 else n)

    assert COUNT.match(written)
    assert int(written.replace(",", "")) == n


def _yuan(amount: str) -> str:
    return gettext("%(amount)s yuan") % {"amount": amount}


def _wan(amount: str) -> str:
    return gettext("%(amount)s × 10k yuan") % {"amount": amount}


def test_examples_of_each_style() -> None:
    # 1,234.50 元 and 12.3 万元 in Chinese
    assert formatting.yuan(1234.5) == _yuan("1,234.50")
    assert str(formatting.money(123_456)) == (
        f'<span class="money" title="{_yuan("123,456.00")}">{_wan("12.3")}</span>'
    )
    assert formatting.money(-43_503) == _yuan("-43,503.00")
    assert formatting.money(-0.001) == _yuan("0.00")
    assert formatting.count(12345.0) == "12,345"
    assert formatting.percent(0.1234) == "12.3%"
    assert formatting.points(-0.0123) == "-1.2"
    assert formatting.points(0.0123) == "+1.2"


@pytest.mark.parametrize("missing", [None, "", "abc", float("nan"), float("inf")])
def test_a_missing_figure_is_a_dash_not_zero(missing: Any) -> None:
    assert formatting.money(missing) == formatting.count(missing) == formatting.MISSING


def test_the_filters_write_names_with_the_code_on_hover(db: None) -> None:
    unit = factories.org_unit(code="GD-GZ-TH-001", name="天河一网格")
    names = formatting.unit_names(["GD-GZ-TH-001", "UNKNOWN"])

    rendered = Template(
        "{% load quanwang_format %}{{ unit|named }}|{{ 'GD-GZ-TH-001'|named_code:names }}"
        "|{{ 'UNKNOWN'|named_code:names }}|{{ amount|money }}|{{ n|count }}"
    ).render(Context({"unit": unit, "names": names, "amount": 250000, "n": 1e6}))

    [by_unit, by_code, unknown, money, n] = rendered.split("|")
    assert by_unit == by_code == '<span title="GD-GZ-TH-001">天河一网格</span>'
    assert unknown == '<span class="code">UNKNOWN</span>'
    assert money == f'<span class="money" title="{_yuan("250,000.00")}">{_wan("25.0")}</span>'
    assert n == "1,000,000"
    assert names == {"GD-GZ-TH-001": "天河一网格"}
    assert OrgUnit.objects.count() == 1


def test_a_name_is_escaped(db: None) -> None:
    written = str(formatting.named("<b>网格</b>", 'G"1'))

    assert written == '<span title="G&quot;1">&lt;b&gt;网格&lt;/b&gt;</span>'
