"""Ranking a board: competition ranking (1, 2, 2, 4), direction-aware, an entry without a
value last and unranked; the top N (龙榜) and the bottom N (虎榜).

Pure functions over plain values, so the rule is tested once and every page, file and image
ranks alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from quanwang.performance.choices import Direction


@dataclass(frozen=True, slots=True)
class Ranked:
    key: str
    score: float | None
    #: 1-based competition rank; None: no value, listed last and unranked.
    rank: int | None


def _usable(score: float | None) -> bool:
    return score is not None and not math.isnan(score)


def rank(
    scores: Sequence[tuple[str, float | None]], *, direction: Direction | str = Direction.HIGHER
) -> list[Ranked]:
    """`scores` (key, score) ranked best first. Equal scores share a rank and the next rank
    skips (1, 2, 2, 4); equal scores are listed by key so the order is stable day to day.
    Keys without a score come last, unranked, by key."""
    lower = Direction(direction) is Direction.LOWER
    valued = [(k, float(s)) for k, s in scores if _usable(s)]  # type: ignore[arg-type]
    valued.sort(key=lambda item: (item[1] if lower else -item[1], item[0]))
    ranked: list[Ranked] = []
    previous: float | None = None
    place = 0
    for position, (key, score) in enumerate(valued, start=1):
        if previous is None or score != previous:
            place = position
            previous = score
        ranked.append(Ranked(key=key, score=score, rank=place))
    missing = sorted(k for k, s in scores if not _usable(s))
    ranked.extend(Ranked(key=k, score=None, rank=None) for k in missing)
    return ranked


def top(ranked: Sequence[Ranked], n: int) -> list[Ranked]:
    """龙榜: the entries ranked within the first `n` places (ties at the edge all shown)."""
    return [r for r in ranked if r.rank is not None and r.rank <= n]


def bottom(ranked: Sequence[Ranked], n: int) -> list[Ranked]:
    """虎榜: the last `n` ranked entries, worst first; entries tied with the n-th from the
    bottom are all shown. Entries without a value are not on it (they are unranked)."""
    valued = [r for r in ranked if r.rank is not None]
    if not valued or n <= 0:
        return []
    start = max(0, len(valued) - n)
    while start > 0 and valued[start - 1].score == valued[start].score:
        start -= 1
    return list(reversed(valued[start:]))


def ranked_count(ranked: Sequence[Ranked]) -> int:
    return sum(1 for r in ranked if r.rank is not None)
