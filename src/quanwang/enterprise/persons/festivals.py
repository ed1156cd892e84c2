"""The festivals' dates (节日). Fixed ones are the same each year; the lunar ones (春节, 元宵,
端午, 中秋) come from a table, checked against the borax lunar calendar when this table was
written (tests/enterprise/test_persons_care.py keeps a few well-known dates). A year outside the
table yields no lunar festival: extend the table rather than add a dependency for four dates a
year.
"""

from __future__ import annotations

import datetime as dt

from quanwang.enterprise.models.persons import Festival

_FIXED: dict[Festival, tuple[int, int]] = {
    Festival.NEW_YEAR: (1, 1),
    Festival.LABOUR: (5, 1),
    Festival.NATIONAL: (10, 1),
}

# year: (春节 1/1, 元宵 1/15, 端午 5/5, 中秋 8/15) of the lunar calendar, as (month, day).
_LUNAR_TABLE: dict[int, tuple[tuple[int, int], ...]] = {
    2023: ((1, 22), (2, 5), (6, 22), (9, 29)),
    2024: ((2, 10), (2, 24), (6, 10), (9, 17)),
    2025: ((1, 29), (2, 12), (5, 31), (10, 6)),
    2026: ((2, 17), (3, 3), (6, 19), (9, 25)),
    2027: ((2, 6), (2, 20), (6, 9), (9, 15)),
    2028: ((1, 26), (2, 9), (5, 28), (10, 3)),
    2029: ((2, 13), (2, 27), (6, 16), (9, 22)),
    2030: ((2, 3), (2, 17), (6, 5), (9, 12)),
    2031: ((1, 23), (2, 6), (6, 24), (10, 1)),
    2032: ((2, 11), (2, 25), (6, 12), (9, 19)),
    2033: ((1, 31), (2, 14), (6, 1), (9, 8)),
    2034: ((2, 19), (3, 5), (6, 20), (9, 27)),
    2035: ((2, 8), (2, 22), (6, 10), (9, 16)),
}
_LUNAR_ORDER = (Festival.SPRING, Festival.LANTERN, Festival.DRAGON_BOAT, Festival.MID_AUTUMN)

FIRST_YEAR = min(_LUNAR_TABLE)
LAST_YEAR = max(_LUNAR_TABLE)


def festival_date(festival: Festival | str, year: int) -> dt.date | None:
    """The festival's date in `year`, or None when the table does not cover that year."""
    festival = Festival(festival)
    if festival in _FIXED:
        month, day = _FIXED[festival]
        return dt.date(year, month, day)
    row = _LUNAR_TABLE.get(year)
    if row is None:
        return None
    month, day = row[_LUNAR_ORDER.index(festival)]
    return dt.date(year, month, day)


def birthday_in(birthday: dt.date, year: int) -> dt.date:
    """The birthday's date in `year`; a 29 February birthday falls on 28 February in a common
    year (the day before the one that does not exist, the usual Chinese custom for 过生日)."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return dt.date(year, 2, 28)
