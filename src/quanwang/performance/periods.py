"""Periods of targets and actuals: a month ("2024-12"), a quarter ("2024Q4") or a year
("2024"), their months, dates and the share of them elapsed on a day.

The business day (actuals.reading.business_day) is the day the newest facts describe, not
the wall clock: an operator's figures are T+1, and the demo's generated data ends in an
earlier year. Every page names it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from quanwang.performance.choices import PeriodKind

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    """A period code that is not a month (2024-12), a quarter (2024Q4) or a year (2024)."""


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    kind: PeriodKind

    @property
    def code(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}"

    @property
    def label(self) -> str:
        """The period as a Chinese page writes it (2024年12月, 2024年第4季度, 2024年)."""
        if self.kind is PeriodKind.MONTH:
            return _("%(year)d-%(month)02d") % {"year": self.start.year, "month": self.start.month}
        if self.kind is PeriodKind.QUARTER:
            quarter = (self.start.month - 1) // 3 + 1
            return _("%(year)d Q%(quarter)d") % {"year": self.start.year, "quarter": quarter}
        return _("Year %(year)d") % {"year": self.start.year}

    @property
    def months(self) -> list[str]:
        """Its months as "YYYY-MM", in order."""
        found, day = [], self.start
        while day <= self.end:
            found.append(f"{day:%Y-%m}")
            day = _next_month(day)
        return found

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def elapsed_share(self, on: dt.date) -> float:
        """The share of the period's days done by the end of `on` (0 before, 1 after)."""
        if on < self.start:
            return 0.0
        if on >= self.end:
            return 1.0
        return ((on - self.start).days + 1) / self.days

    def previous(self) -> Period:
        """The period of the same kind just before (last period's shares)."""
        return period_of(self.kind, self.start - dt.timedelta(days=1))

    def __str__(self) -> str:
        return self.code


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def parse(code: str) -> Period:
    """The period a code names; PeriodError (its message names the code) otherwise."""
    text = (code or "").strip()
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        return Period(dt.date(year, month, 1), _month_end(year, month), PeriodKind.MONTH)
    if m := _QUARTER.match(text):
        year, first = int(m[1]), (int(m[2]) - 1) * 3 + 1
        return Period(dt.date(year, first, 1), _month_end(year, first + 2), PeriodKind.QUARTER)
    if m := _YEAR.match(text):
        year = int(m[1])
        return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), PeriodKind.YEAR)
    raise PeriodError(
        _(
            "“%(code)s” is not a period: write a month (2024-12), a quarter (2024Q4) or a year "
            "(2024)."
        )
        % {"code": code}
    )


def period_of(kind: PeriodKind | str, day: dt.date) -> Period:
    """The month, quarter or year holding `day`."""
    kind = PeriodKind(kind)
    if kind is PeriodKind.MONTH:
        return parse(f"{day:%Y-%m}")
    if kind is PeriodKind.QUARTER:
        return parse(f"{day.year}Q{(day.month - 1) // 3 + 1}")
    return parse(f"{day.year}")


def open_periods(day: dt.date) -> list[Period]:
    """The month, quarter and year holding `day`: the periods the nightly actuals cover."""
    return [period_of(kind, day) for kind in PeriodKind]


def month_period(month: str) -> Period:
    return parse(month)
