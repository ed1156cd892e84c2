"""Largest-remainder sharing: an amount split by weights into whole steps (10^-decimals) that add
up to the amount exactly."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction


def share(total: Decimal, weights: Sequence[float | Decimal], *, step: Decimal) -> list[Decimal]:
    """`total` split in proportion to `weights` (equally when they are all 0), each a whole
    number of `step`s, adding up to `total` exactly (which must itself be whole steps). The
    steps left after flooring go to the largest remainders, ties to the earlier weight, so the
    split is the same every time."""
    if not weights:
        return []
    if total < 0:
        return [-part for part in share(-total, weights, step=step)]
    units = int(total / step)
    exact = [Fraction(Decimal(str(w))) if w and w > 0 else Fraction(0) for w in weights]
    whole = sum(exact)
    if whole == 0:
        exact, whole = [Fraction(1)] * len(weights), Fraction(len(weights))
    quotas = [Fraction(units) * w / whole for w in exact]
    floors = [q.numerator // q.denominator for q in quotas]
    left = units - sum(floors)
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [step * n for n in floors]
