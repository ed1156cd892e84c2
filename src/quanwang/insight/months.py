"""Snapshot months ("2024-06") and the calendar arithmetic the pipeline needs, engine-free."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class MonthError(ValueError):
    """A snapshot month that cannot be read; the message shows the expected form."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = MONTH.match(text.strip())
        if found is None:
            raise MonthError(_('"%(text)s" is not a month; write it like 2024-06') % {"text": text})
        return cls(int(found.group(1)), int(found.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        """Months since year 0: differences of two indexes count months."""
        return self.year * 12 + self.month - 1

    def shift(self, months: int) -> Month:
        index = self.index + months
        return Month(index // 12, index % 12 + 1)

    def back(self, count: int) -> list[str]:
        """This month and the `count - 1` before it, newest first, as strings."""
        return [str(self.shift(-i)) for i in range(count)]

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])
