"""The confidence intervals of an evaluation (`campaigns.evaluation`, whose module docstring
and docs/campaigns-evaluation.md give the formulas): Wilson for a proportion, Newcombe's
hybrid score for a difference of proportions, Welch's t for a difference of means."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from django.utils.translation import gettext
from scipy import stats


class EvaluationError(ValueError):
    """The audience table cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def scaled(self, factor: float, shift: float = 0.0) -> Interval:
        ends = sorted((self.low * factor + shift, self.high * factor + shift))
        return Interval(ends[0], ends[1])


class Sample(Protocol):
    """What a Welch interval reads of each group (evaluation.GroupStats)."""

    @property
    def size(self) -> int: ...

    @property
    def revenue_per_head(self) -> float | None: ...

    @property
    def revenue_variance(self) -> float | None: ...


def wilson_interval(*, successes: int, trials: int, confidence: float) -> Interval:
    """Wilson score interval of a proportion; defined for 0 and `trials` successes too."""
    if trials <= 0:
        raise EvaluationError(gettext("a proportion needs at least one trial"))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(
    *, treated: tuple[int, int], control: tuple[int, int], confidence: float
) -> Interval:
    """Newcombe's hybrid score interval for p_t − p_c; each group is (successes, trials)."""
    p_t, p_c = treated[0] / treated[1], control[0] / control[1]
    w_t = wilson_interval(successes=treated[0], trials=treated[1], confidence=confidence)
    w_c = wilson_interval(successes=control[0], trials=control[1], confidence=confidence)
    difference = p_t - p_c
    below = math.sqrt((p_t - w_t.low) ** 2 + (w_c.high - p_c) ** 2)
    above = math.sqrt((w_t.high - p_t) ** 2 + (p_c - w_c.low) ** 2)
    return Interval(difference - below, difference + above)


def welch_interval(*, treated: Sample, control: Sample, confidence: float) -> Interval:
    """Welch t interval of the difference of mean revenue per head (both groups ≥ 2)."""
    mean_t, mean_c = treated.revenue_per_head, control.revenue_per_head
    var_t, var_c = treated.revenue_variance, control.revenue_variance
    if mean_t is None or mean_c is None or var_t is None or var_c is None:
        raise EvaluationError(gettext("a Welch interval needs at least two members in each group"))
    difference = mean_t - mean_c
    v_t, v_c = var_t / treated.size, var_c / control.size
    if v_t + v_c == 0:
        # Every member of both groups has the same revenue: there is no sampling spread.
        return Interval(difference, difference)
    dof = (v_t + v_c) ** 2 / (v_t**2 / (treated.size - 1) + v_c**2 / (control.size - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(v_t + v_c)
    return Interval(difference - half, difference + half)
