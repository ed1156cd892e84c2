"""Judging an uplift ranking: Radcliffe's Qini curve and coefficient, and how far from noise.

`qini_curve` and `qini_coefficient` judge a ranking on observed outcomes; `qini_baseline`
adds what noise alone gives (the same customers in random orders of the scores: mean and 95%
band) and a bootstrap interval of the coefficient (customers resampled), so that a model whose
Qini lies inside the band is told apart from one that found a real difference.
`compare_with_truth` adds the generator's true effects, the oracle ranking and random
targeting; `true_gain_coefficient` judges a ranking on true uplifts, without sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import spearmanr

Array = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

# Random orderings and bootstrap resamples of `qini_baseline`: 200 put the 2.5% and 97.5%
# points within about a tenth of the band's width of where 10,000 would.
BASELINE_PERMUTATIONS = 200
BASELINE_RESAMPLES = 200


class QiniError(ValueError):
    """The ranking cannot be judged; the message says why."""


@dataclass(frozen=True)
class QiniCurve:
    """Incremental responders (per audience member) when targeting the top `share`."""

    share: Array  # 0 … 1
    gain: Array  # Qini(share) / N

    @property
    def coefficient(self) -> float:
        """Area between the curve and the straight line of random targeting."""
        area = float(np.sum(np.diff(self.share) * (self.gain[1:] + self.gain[:-1]) / 2))
        return area - float(self.gain[-1]) / 2


def _arrays(
    uplift_scores: npt.ArrayLike, treatment: npt.ArrayLike, outcome: npt.ArrayLike
) -> tuple[Array, Flags, Array]:
    scores = np.asarray(uplift_scores, dtype=np.float64)
    treated = np.asarray(treatment, dtype=bool)
    y = np.asarray(outcome, dtype=np.float64)
    if not scores.shape == treated.shape == y.shape:
        raise QiniError("scores, treatment and outcome need the same length")
    return scores, treated, y


def _tie_ends(sorted_scores: Array) -> npt.NDArray[np.intp]:
    """The last position of each run of equal scores (the curve has a point only there)."""
    n = sorted_scores.size
    return np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), n - 1]


def _curves(
    treated: Flags, y: Array, ends: npt.NDArray[np.intp], weights: Array | None = None
) -> tuple[Array, Array]:
    """Qini curves of rows already in score order: the shares and the gains, one row per
    ordering. `treated` and `y` may be 2-D (one ordering a row) sharing the tie structure
    `ends`; `weights` (2-D) counts each row that many times (a bootstrap resample: a customer
    drawn twice ties with themselves, so counting them twice in place is the same curve)."""
    t = np.atleast_2d(treated)
    yy = np.atleast_2d(y)
    if weights is None:
        n_t = np.cumsum(t, axis=1)
        total = np.broadcast_to(np.arange(1, t.shape[1] + 1), t.shape)
        y_all = np.cumsum(yy, axis=1)
        y_t = np.cumsum(np.where(t, yy, 0.0), axis=1)
    else:
        n_t = np.cumsum(np.where(t, weights, 0.0), axis=1)
        total = np.cumsum(weights, axis=1)
        yw = yy * weights
        y_all = np.cumsum(yw, axis=1)
        y_t = np.cumsum(np.where(t, yw, 0.0), axis=1)
    # Control counts and sums as what the treated leave: two running sums instead of four.
    n_c = total - n_t
    y_c = y_all - y_t
    # Until the first control row there is nothing to subtract: count the control side as 0.
    scaled_c = np.divide(y_c * n_t, n_c, out=np.zeros(n_t.shape), where=n_c > 0)
    size = total[:, -1:].astype(np.float64)
    zeros = np.zeros((n_t.shape[0], 1))
    share = np.hstack([zeros, total[:, ends] / size])
    gain = np.hstack([zeros, (y_t - scaled_c)[:, ends] / size])
    return share, gain


def _coefficients(
    treated: Flags, y: Array, ends: npt.NDArray[np.intp], weights: Array | None = None
) -> Array:
    """`QiniCurve.coefficient` of each ordering (see `_curves`)."""
    share, gain = _curves(treated, y, ends, weights)
    area = np.sum(np.diff(share, axis=1) * (gain[:, 1:] + gain[:, :-1]) / 2, axis=1)
    result: Array = area - gain[:, -1] / 2
    return result


def qini_curve(
    *, uplift_scores: npt.ArrayLike, treatment: npt.ArrayLike, outcome: npt.ArrayLike
) -> QiniCurve:
    """Qini curve: Q(k) = Y_t(k) − Y_c(k) · N_t(k) / N_c(k) over the top k by score.

    Rows with equal scores are taken together (a point only at the end of each tie), so a
    constant score gives the straight random line."""
    scores, treated, y = _arrays(uplift_scores, treatment, outcome)
    if scores.size == 0:
        return QiniCurve(share=np.zeros(1), gain=np.zeros(1))
    order = np.argsort(-scores, kind="stable")
    share, gain = _curves(treated[order], y[order], _tie_ends(scores[order]))
    return QiniCurve(share=share[0], gain=gain[0])


def qini_coefficient(
    *, uplift_scores: npt.ArrayLike, treatment: npt.ArrayLike, outcome: npt.ArrayLike
) -> float:
    return qini_curve(uplift_scores=uplift_scores, treatment=treatment, outcome=outcome).coefficient


# --- the baseline: what noise gives -------------------------------------------------------


@dataclass(frozen=True)
class QiniBaseline:
    """A Qini coefficient beside what random orderings of the same scores give.

    `noise_low`–`noise_high` is the central 95% of the coefficients of `permutations` random
    orderings (the scores shuffled among the customers: a model that learned nothing); a real
    ranking lies above it. `ci_low`–`ci_high` is a 95% percentile bootstrap interval of the
    coefficient itself (customers resampled within each group, `resamples` times): how much it
    would move on another sample of the same size."""

    qini: float
    noise_mean: float
    noise_low: float
    noise_high: float
    ci_low: float
    ci_high: float
    permutations: int
    resamples: int

    @property
    def above_noise(self) -> bool:
        """The coefficient is above every ordering but the top 2.5% of random ones."""
        return self.qini > self.noise_high


def qini_baseline(
    *,
    uplift_scores: npt.ArrayLike,
    treatment: npt.ArrayLike,
    outcome: npt.ArrayLike,
    permutations: int = BASELINE_PERMUTATIONS,
    resamples: int = BASELINE_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> QiniBaseline:
    """The Qini coefficient with its permutation band and bootstrap interval (see
    `QiniBaseline`). Seeded: the same inputs give the same figures."""
    scores, treated, y = _arrays(uplift_scores, treatment, outcome)
    if scores.size == 0 or treated.all() or not treated.any():
        raise QiniError("a Qini baseline needs treated and control customers")
    if permutations < 1 or resamples < 1 or not 0 < confidence < 1:
        raise QiniError("permutations and resamples must be positive, confidence in (0, 1)")
    rng = np.random.default_rng(seed)
    order = np.argsort(-scores, kind="stable")
    ends = _tie_ends(scores[order])
    t_sorted, y_sorted = treated[order], y[order]
    observed = float(_coefficients(t_sorted, y_sorted, ends)[0])
    tails = [(1 - confidence) / 2, (1 + confidence) / 2]

    # Shuffling the scores among customers keeps the scores' ties: the same as shuffling the
    # customers (group and outcome together) under fixed sorted scores.
    noise = np.concatenate(
        [
            _coefficients(t_sorted[rows], y_sorted[rows], ends)
            for rows in _shuffles(rng, permutations, scores.size)
        ]
    )
    boot = np.concatenate(
        [
            _coefficients(t_sorted, y_sorted, ends, weights)
            for weights in _resample_counts(rng, resamples, t_sorted)
        ]
    )
    noise_low, noise_high = np.quantile(noise, tails)
    ci_low, ci_high = np.quantile(boot, tails)
    return QiniBaseline(
        qini=observed,
        noise_mean=float(noise.mean()),
        noise_low=float(noise_low),
        noise_high=float(noise_high),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        permutations=permutations,
        resamples=resamples,
    )


# About 2 MB an array a chunk of orderings or resamples: small enough for the CPU caches
# (on 100,000 customers about half the time of 32 MB chunks, on 2 shared cores).
_CHUNK_CELLS = 250_000


def _chunk_sizes(count: int, n: int) -> list[int]:
    rows = max(1, _CHUNK_CELLS // max(n, 1))
    return [min(rows, count - start) for start in range(0, count, rows)]


def _shuffles(rng: np.random.Generator, count: int, n: int) -> list[npt.NDArray[np.int32]]:
    """`count` random orderings of range(n), as rows of a few 2-D chunks."""
    return [
        rng.permuted(np.tile(np.arange(n, dtype=np.int32), (size, 1)), axis=1)
        for size in _chunk_sizes(count, n)
    ]


def _resample_counts(rng: np.random.Generator, count: int, treated: Flags) -> list[Array]:
    """`count` bootstrap resamples as how many times each customer is drawn, customers drawn
    with replacement within each group (so that every resample keeps the groups' sizes)."""
    groups = [np.flatnonzero(treated), np.flatnonzero(~treated)]
    chunks = []
    for size in _chunk_sizes(count, treated.size):
        weights = np.zeros((size, treated.size))
        for row in weights:
            for rows in groups:
                row[rows] = np.bincount(rng.integers(0, rows.size, rows.size), minlength=rows.size)
        chunks.append(weights)
    return chunks


# --- against the truth --------------------------------------------------------------------


def true_gain_coefficient(*, uplift_scores: npt.ArrayLike, true_uplift: npt.ArrayLike) -> float:
    """The Qini coefficient a ranking would have on expected outcomes: the curve is the sum
    of TRUE uplifts of the top k, per audience member. No sampling noise, so it compares
    rankings exactly."""
    scores = np.asarray(uplift_scores, dtype=np.float64)
    truth = np.asarray(true_uplift, dtype=np.float64)
    n = scores.size
    if n == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    cumulative = np.cumsum(truth[order])
    ends = _tie_ends(scores[order])
    curve = QiniCurve(share=np.r_[0.0, (ends + 1) / n], gain=np.r_[0.0, cumulative[ends] / n])
    return curve.coefficient


@dataclass(frozen=True)
class TruthComparison:
    """One ranking judged against the oracle (true uplift) and random targeting."""

    qini: float
    qini_random: float  # mean over `random_draws` random orders
    qini_oracle: float
    true_gain: float  # `true_gain_coefficient` of the ranking
    true_gain_oracle: float
    rank_correlation: float  # Spearman, predicted against true uplift
    top_decile_true_uplift: float  # mean true uplift of the top 10% by prediction
    mean_true_uplift: float

    @property
    def qini_share_of_oracle(self) -> float:
        return self.qini / self.qini_oracle if self.qini_oracle else float("nan")


def compare_with_truth(
    *,
    uplift_scores: npt.ArrayLike,
    true_uplift: npt.ArrayLike,
    treatment: npt.ArrayLike,
    outcome: npt.ArrayLike,
    seed: int = 0,
    random_draws: int = 20,
) -> TruthComparison:
    scores = np.asarray(uplift_scores, dtype=np.float64)
    truth = np.asarray(true_uplift, dtype=np.float64)
    rng = np.random.default_rng(seed)
    observed = {"treatment": treatment, "outcome": outcome}
    randoms = [
        qini_coefficient(uplift_scores=rng.random(scores.size), **observed)
        for _ in range(random_draws)
    ]
    top = np.argsort(-scores, kind="stable")[: max(1, scores.size // 10)]
    return TruthComparison(
        qini=qini_coefficient(uplift_scores=scores, **observed),
        qini_random=float(np.mean(randoms)),
        qini_oracle=qini_coefficient(uplift_scores=truth, **observed),
        true_gain=true_gain_coefficient(uplift_scores=scores, true_uplift=truth),
        true_gain_oracle=true_gain_coefficient(uplift_scores=truth, true_uplift=truth),
        rank_correlation=float(spearmanr(scores, truth).statistic),
        top_decile_true_uplift=float(truth[top].mean()),
        mean_true_uplift=float(truth.mean()),
    )
