"""How the console writes money, counts, shares and org-unit names: one style everywhere.

Amounts are in 元 with thousands separators and two decimals ("1,234.50 元"); sums of
100,000 元 or more in 万元 with one decimal ("12.3 万元"), the exact amount kept for the
hover text. Counts are whole numbers with separators ("12,345"). The template filters in
`core.templatetags.quanwang_format` wrap these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

#: From this many 元 on, an amount is written in 万元.
WAN_FROM = Decimal(100_000)
WAN = Decimal(10_000)
FEN = Decimal("0.01")
TENTH = Decimal("0.1")
#: What the console shows where a figure is missing.
MISSING = "—"


def as_decimal(value: Any) -> Decimal | None:
    """`value` as a Decimal; None for None, blanks, text that is no number, NaN and infinities
    (a figure that is not there is shown as missing, never as 0)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _rounded(number: Decimal, step: Decimal) -> Decimal:
    rounded = number.quantize(step, rounding=ROUND_HALF_UP)
    # -0.00 would read as a loss of nothing.
    return rounded.copy_abs() if rounded.is_zero() else rounded


def grouped(number: Decimal, places: int) -> str:
    """`number` with thousands separators and `places` decimals: 1234.5 → "1,234.50"."""
    return f"{_rounded(number, Decimal(1).scaleb(-places)):,.{places}f}"


def yuan(value: Any) -> str:
    """An amount in 元: "1,234.50 元"."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    return _("%(amount)s yuan") % {"amount": grouped(number, 2)}


def wan_yuan(value: Any) -> str:
    """An amount in 万元 with one decimal: 123,456 → "12.3 万元"."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    return _("%(amount)s × 10k yuan") % {"amount": grouped(number / WAN, 1)}


def is_large(value: Any) -> bool:
    number = as_decimal(value)
    return number is not None and abs(number) >= WAN_FROM


def money(value: Any) -> SafeString | str:
    """An amount as the console shows it: in 元, or in 万元 from 100,000 元 on with the exact
    amount as the hover text."""
    if not is_large(value):
        return yuan(value)
    return format_html('<span class="money" title="{}">{}</span>', yuan(value), wan_yuan(value))


def count(value: Any) -> str:
    """A count as a whole number with thousands separators: 12345.0 → "12,345"."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    return f"{_rounded(number, Decimal(1)):,.0f}"


def percent(value: Any, places: int = 1) -> str:
    """A share (0.1234) as a percentage: "12.3%"."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    return f"{grouped(number * 100, places)}%"


def points(value: Any, places: int = 1) -> str:
    """A change of a share (0.0123) in percentage points, signed: "+1.2"."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    text = grouped(number * 100, places)
    return text if text.startswith("-") else f"+{text}"


def named(name: str | None, code: str | None) -> SafeString | str:
    """A grid's, store's or unit's name with its code as the hover text; the code alone when
    the name is not known."""
    if not code:
        return name or MISSING
    if not name or name == code:
        return format_html('<span class="code">{}</span>', code)
    return format_html('<span title="{}">{}</span>', code, name)


def unit_names(codes: Iterable[str]) -> dict[str, str]:
    """The names of the org units (grids, counties, cities) with these codes, in one query."""
    from quanwang.core.models import OrgUnit

    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return dict(OrgUnit.objects.filter(code__in=wanted).values_list("code", "name"))


def named_code(code: str | None, names: Mapping[str, str] | None) -> SafeString | str:
    """`code` under its name in `names` (e.g. from `unit_names`), the code on hover."""
    return named((names or {}).get(code or ""), code)
