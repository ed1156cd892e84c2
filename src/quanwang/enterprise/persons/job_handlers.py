"""Background jobs and nightly steps of the enterprise persons part, and its merge step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy

from quanwang.core import nightly
from quanwang.enterprise.accounts.merging import on_merge
from quanwang.enterprise.persons import merging

if TYPE_CHECKING:
    from quanwang.enterprise.models import Account


@on_merge("persons")
def repoint(*, survivor: Account, merged: Account) -> dict[str, int]:
    return merging.on_merge(survivor=survivor, merged=merged)


@nightly.after_snapshot("enterprise_care", gettext_lazy("Care calendar: the year's occasions"))
def nightly_care(snapshot: Any) -> dict[str, Any]:
    # Pages make the occurrences they show as they read them; this makes this year's and the
    # next in one pass, so the home page's first read of a new year is cheap.
    from quanwang.enterprise.persons.services.care import ensure_occurrences

    year = timezone.localdate().year
    return {"care_moments_made": ensure_occurrences(user=None, years=range(year, year + 2))}
