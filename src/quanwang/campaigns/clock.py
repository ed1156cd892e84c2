"""The clock dispatch reads (the quiet hours, the time a deferred step goes out): the real one,
unless a test set it. A seam, not a feature: nothing in the product sets it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_fixed: dt.datetime | None = None


def now() -> dt.datetime:
    return _fixed if _fixed is not None else timezone.now()


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Within the block, `now()` is `moment` (timezone-aware)."""
    global _fixed
    if moment.tzinfo is None:
        raise ValueError("give the frozen moment a time zone")
    previous, _fixed = _fixed, moment
    try:
        yield
    finally:
        _fixed = previous
