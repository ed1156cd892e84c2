"""Which days a rule set's rules cover: overlaps (two rules that could both pay one sale) and
gaps (days a product is sold with no rule), each named with its product, store type, plan and
dates. Pure functions over plain values: the rule set's service turns them into messages.

A rule matches a sale when the product is equal, its plan is the sale's or blank (any plan),
its store type the store's or blank (any type), and the sale's day lies in its window. Two
rules overlap when some sale could match both: no precedence settles it, the set is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from quanwang.channels.choices import StoreType

ANY = ""
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class RuleWindow:
    """A rule's matching key and its days, from `start` to `end` inclusive (None: open)."""

    rule_id: int
    product: str
    plan_id: str
    store_type: str
    start: dt.date
    end: dt.date | None


@dataclass(frozen=True)
class Overlap:
    first: RuleWindow
    second: RuleWindow
    plan_id: str  # the plan both match (blank: any)
    store_type: str  # the store type both match (blank: any)
    start: dt.date
    end: dt.date | None


@dataclass(frozen=True)
class Gap:
    product: str
    plan_id: str  # blank: the plans no rule names
    store_types: tuple[str, ...]  # every type: all four
    start: dt.date
    end: dt.date | None


def _compatible(a: str, b: str) -> bool:
    return a in (b, ANY) or b == ANY


def _narrower(a: str, b: str) -> str:
    return a or b


def _later(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    """The later of two ends, None (open) being the latest."""
    if a is None or b is None:
        return None
    return max(a, b)


def _earlier(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def overlaps(windows: Sequence[RuleWindow]) -> list[Overlap]:
    """Every pair of rules some sale could match on the same day."""
    found = []
    ordered = sorted(windows, key=lambda w: (w.product, w.start, w.rule_id))
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.product != first.product:
                break
            if not (
                _compatible(first.plan_id, second.plan_id)
                and _compatible(first.store_type, second.store_type)
            ):
                continue
            start = max(first.start, second.start)
            end = _earlier(first.end, second.end)
            if end is not None and end < start:
                continue
            found.append(
                Overlap(
                    first=first,
                    second=second,
                    plan_id=_narrower(first.plan_id, second.plan_id),
                    store_type=_narrower(first.store_type, second.store_type),
                    start=start,
                    end=end,
                )
            )
    return found


def uncovered(
    spans: Iterable[tuple[dt.date, dt.date | None]], *, start: dt.date, end: dt.date | None
) -> list[tuple[dt.date, dt.date | None]]:
    """The days from `start` to `end` (None: open) that no span covers, as spans."""
    holes: list[tuple[dt.date, dt.date | None]] = []
    cursor: dt.date | None = start  # the first day not yet known covered; None: all covered
    for span_start, span_end in sorted(spans, key=lambda s: s[0]):
        if cursor is None:
            break
        if end is not None and span_start > end:
            break
        if span_start > cursor:
            holes.append((cursor, span_start - DAY))
        cursor = None if span_end is None else max(cursor, span_end + DAY)
    if cursor is not None and (end is None or cursor <= end):
        holes.append((cursor, end))
    return holes


def gaps(windows: Sequence[RuleWindow], *, start: dt.date, end: dt.date | None) -> list[Gap]:
    """For each product, store type and plan some rule of the product reaches, the days of the
    set (`start` to `end`) no rule covers. A plan or store type no rule of the product reaches
    at all is not a gap here: the facts check names it when it is sold."""
    by_product: dict[str, list[RuleWindow]] = {}
    for window in windows:
        by_product.setdefault(window.product, []).append(window)
    merged: dict[tuple[str, str, dt.date, dt.date | None], list[str]] = {}
    for product, rules in sorted(by_product.items()):
        plans = [*sorted({r.plan_id for r in rules if r.plan_id != ANY}), ANY]
        for store_type in StoreType.values:
            for plan in plans:
                reaching = [
                    r
                    for r in rules
                    if r.store_type in (ANY, store_type) and r.plan_id in (ANY, plan)
                ]
                if not reaching:
                    continue
                for hole_start, hole_end in uncovered(
                    ((r.start, r.end) for r in reaching), start=start, end=end
                ):
                    merged.setdefault((product, plan, hole_start, hole_end), []).append(store_type)
    return [
        Gap(product=product, plan_id=plan, store_types=tuple(types), start=s, end=e)
        for (product, plan, s, e), types in sorted(
            merged.items(), key=lambda item: (item[0][0], item[0][1], item[0][2])
        )
    ]


def clip(
    window_start: dt.date | None,
    window_end: dt.date | None,
    *,
    start: dt.date,
    end: dt.date | None,
) -> tuple[dt.date, dt.date | None] | None:
    """A rule's days (blank: the set's) within the set's `start`–`end`; None when none left."""
    lo = max(window_start or start, start)
    hi = _earlier(window_end, end) if window_end is not None else end
    if hi is not None and hi < lo:
        return None
    return lo, hi


def later_end(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return _later(a, b)
