"""The omni-channel formula (全渠道营销公式) and the exact decomposition of a revenue change.

    revenue = footfall × conversion × repeat × basket              (walk-in term)
            + referrals × referral conversion × repeat × basket     (referral term)

with, per term, conversion = buyers / visitors, repeat = transactions / buyers and basket =
revenue / transactions; a ratio whose denominator is 0 is 0 (no visitors: no conversion).

The change of revenue from one month to the next is split over the factors by Shapley values
of each term's product, a factor's contributions added over the two terms: FOOTFALL,
REFERRALS, CONVERSION, REPEAT, BASKET. For a product of n factors moving from x⁰ to x¹,

    φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (x_i¹ − x_i⁰) · Π_{j∈S} x_j¹ · Π_{j∉S∪{i}} x_j⁰

and Σ φ_i = Π x¹ − Π x⁰ exactly (the terms telescope over every order of the factors), zeros
included, where log shares fail. When the counts are inconsistent (revenue without
transactions, buyers without visitors...), the product is not the revenue; the difference goes
to UNEXPLAINED, so the contributions still add up to the change.

`shapley_fen` works on whole columns in float64 and rounds each row's contributions to whole
fen by largest remainders, so that they add up to the change in fen exactly; `shapley_exact`
is the same formula in Fractions, the reference the tests hold the float one to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[Any]


class Factor(StrEnum):
    FOOTFALL = "footfall"
    REFERRALS = "referrals"
    CONVERSION = "conversion"
    REPEAT = "repeat"
    BASKET = "basket"
    UNEXPLAINED = "unexplained"


FACTORS = tuple(Factor)
#: Above this many fen a share's float error may reach a fen: such rows are done in fractions.
EXACT_ABOVE = 1e11
#: Each term's factors in order: visitors, conversion, repeat, basket.
TERM_FACTORS = (
    (Factor.FOOTFALL, Factor.CONVERSION, Factor.REPEAT, Factor.BASKET),
    (Factor.REFERRALS, Factor.CONVERSION, Factor.REPEAT, Factor.BASKET),
)


@dataclass(frozen=True)
class Counts:
    """One store's or grid's month: visitors, buyers, transactions and revenue in fen, of the
    walk-in term and the referral term."""

    footfall: int
    buyers: int
    transactions: int
    revenue_fen: int
    referrals: int
    referred_buyers: int
    referred_transactions: int
    referred_revenue_fen: int

    @property
    def total_fen(self) -> int:
        return self.revenue_fen + self.referred_revenue_fen

    def terms(self) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
        return (
            (self.footfall, self.buyers, self.transactions, self.revenue_fen),
            (
                self.referrals,
                self.referred_buyers,
                self.referred_transactions,
                self.referred_revenue_fen,
            ),
        )


def ratio(numerator: Any, denominator: Any) -> Any:
    """numerator / denominator, 0 where the denominator is 0 (works on arrays too)."""
    if isinstance(denominator, np.ndarray):
        safe = np.where(denominator == 0, 1, denominator)
        return np.where(denominator == 0, 0.0, numerator / safe)
    return 0 if denominator == 0 else numerator / denominator


def factors(visitors: Any, buyers: Any, transactions: Any, revenue: Any) -> tuple[Any, ...]:
    """(visitors, conversion, repeat, basket) of one term."""
    return (
        visitors,
        ratio(buyers, visitors),
        ratio(transactions, buyers),
        ratio(revenue, transactions),
    )


def _weights(n: int) -> dict[int, Fraction]:
    return {s: Fraction(factorial(s) * factorial(n - s - 1), factorial(n)) for s in range(n)}


def shapley_product(before: Sequence[Any], after: Sequence[Any]) -> list[Any]:
    """Each factor's Shapley value in the change of the product Π x from `before` to `after`.
    Works on numbers, Fractions or numpy columns alike."""
    n = len(before)
    weights = _weights(n)
    values: list[Any] = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        total: Any = 0
        for size in range(n):
            weight = weights[size]
            w: Any = weight if isinstance(before[0], Fraction) else float(weight)
            for chosen in combinations(others, size):
                term: Any = w * (after[i] - before[i])
                for j in others:
                    term = term * (after[j] if j in chosen else before[j])
                total = total + term
        values.append(total)
    return values


def shapley_exact(before: Counts, after: Counts) -> dict[Factor, Fraction]:
    """The contributions in fen as exact fractions: they add up to the change exactly."""
    found = dict.fromkeys(FACTORS, Fraction(0))
    explained = Fraction(0)
    for names, old, new in zip(TERM_FACTORS, before.terms(), after.terms(), strict=True):
        x0 = [Fraction(v) for v in factors(*[Fraction(c) for c in old])]
        x1 = [Fraction(v) for v in factors(*[Fraction(c) for c in new])]
        for name, value in zip(names, shapley_product(x0, x1), strict=True):
            found[name] += value
            explained += value
    found[Factor.UNEXPLAINED] = after.total_fen - before.total_fen - explained
    return found


def shapley_fen(before: Arr, after: Arr) -> list[list[int]]:
    """Contributions in whole fen for many rows at once.

    before, after: (rows, 8) integer arrays of the Counts fields in order. Returns a row of 6
    whole fen in FACTORS order for each; each row adds up to its change of revenue exactly."""
    change = (after[:, 3] + after[:, 7]) - (before[:, 3] + before[:, 7])
    values = np.zeros((len(before), len(FACTORS)), dtype=np.float64)
    explained = np.zeros(len(before), dtype=np.float64)
    column = {f: k for k, f in enumerate(FACTORS)}
    for term, names in enumerate(TERM_FACTORS):
        cols = slice(4 * term, 4 * term + 4)
        x0 = factors(*[before[:, cols][:, k].astype(np.float64) for k in range(4)])
        x1 = factors(*[after[:, cols][:, k].astype(np.float64) for k in range(4)])
        for name, value in zip(names, shapley_product(x0, x1), strict=True):
            values[:, column[name]] += value
            explained += value
    # Float rounding leaves a few billionths of a fen unexplained in consistent counts: not a
    # gap in the data, so it is not shown as one.
    unexplained = change - explained
    scale = np.maximum(1.0, np.abs(after[:, 3] + after[:, 7]) + np.abs(before[:, 3] + before[:, 7]))
    values[:, column[Factor.UNEXPLAINED]] = np.where(
        np.abs(unexplained) < 1e-9 * scale, 0.0, unexplained
    )
    # Shares beyond EXACT_ABOVE fen (absurd counts: millions of buyers from one visitor) carry
    # float errors near a fen, or do not fit 64 bits; such rows are worked out in fractions.
    with np.errstate(invalid="ignore", over="ignore"):
        huge = ~np.isfinite(values).all(axis=1) | (np.abs(values) > EXACT_ABOVE).any(axis=1)
    values[huge] = 0.0
    rounded: list[list[int]] = round_to_total(values, np.where(huge, 0, change)).tolist()
    for row in np.flatnonzero(huge):
        exact = shapley_exact(Counts(*before[row].tolist()), Counts(*after[row].tolist()))
        rounded[row] = round_exact([exact[f] for f in FACTORS], int(change[row]))
    return rounded


def round_exact(parts: list[Fraction], total: int) -> list[int]:
    """`round_to_total` of one row in exact arithmetic."""
    floors = [math.floor(p) for p in parts]
    short = total - sum(floors)
    order = sorted(range(len(parts)), key=lambda k: (-(parts[k] - floors[k]), k))
    for k in order[:short]:
        floors[k] += 1
    return floors


def round_to_total(values: Arr, total: Arr) -> Arr:
    """Each row of `values` rounded to integers adding up to the row's `total` (largest
    remainders: the parts with the largest fractions are rounded up)."""
    floors = np.floor(values)
    short = (total - floors.sum(axis=1)).round().astype(np.int64)
    short = np.clip(short, 0, values.shape[1])
    order = np.argsort(-(values - floors), axis=1, kind="stable")
    bump = np.zeros_like(floors)
    ranks = np.arange(values.shape[1])[None, :]
    np.put_along_axis(bump, order, (ranks < short[:, None]).astype(np.float64), axis=1)
    return (floors + bump).astype(np.int64)
