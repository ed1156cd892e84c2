"""The Qini coefficient beside what noise gives: a permutation band and a bootstrap interval."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest

from quanwang.campaigns.qini import (
    QiniError,
    qini_baseline,
    qini_coefficient,
    qini_curve,
)
from quanwang.campaigns.uplift import Learner, fit_uplift


def trial(rows: int, *, effect: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A randomised 50/50 trial: response 5% without contact; a contact adds `effect` × x,
    where x ~ U(0, 1) is a customer's trait."""
    rng = np.random.default_rng(seed)
    trait = rng.random(rows)
    treated = rng.random(rows) < 0.5
    responded = rng.random(rows) < 0.05 + np.where(treated, effect * trait, 0.0)
    return trait, treated, responded.astype(float)


def test_a_ranking_that_follows_a_real_uplift_lies_above_the_noise_band() -> None:
    # Given 10,000 customers whose uplift rises with a trait (0 to 20 points)
    trait, treated, outcome = trial(10_000, effect=0.2, seed=1)

    # When customers are ranked by that trait
    baseline = qini_baseline(uplift_scores=trait, treatment=treated, outcome=outcome, seed=3)

    # Then the Qini is above every random ordering but the top 2.5%, its interval clear of
    # the random orderings' mean, which is about 0
    assert baseline.qini == pytest.approx(
        qini_coefficient(uplift_scores=trait, treatment=treated, outcome=outcome)
    )
    assert baseline.above_noise
    assert baseline.qini > baseline.noise_high
    assert baseline.ci_low > baseline.noise_mean
    assert abs(baseline.noise_mean) < (baseline.noise_high - baseline.noise_low) / 4
    assert baseline.ci_low < baseline.qini < baseline.ci_high


def test_a_ranking_on_pure_noise_lies_inside_the_band() -> None:
    # Given the same customers, but a contact changes nothing
    trait, treated, outcome = trial(10_000, effect=0.0, seed=2)

    # When they are ranked by the trait (which now says nothing)
    baseline = qini_baseline(uplift_scores=trait, treatment=treated, outcome=outcome, seed=3)

    # Then the Qini lies inside the band of random orderings, and its interval holds 0
    assert not baseline.above_noise
    assert baseline.noise_low <= baseline.qini <= baseline.noise_high
    assert baseline.ci_low <= 0 <= baseline.ci_high


def test_noise_lies_inside_the_band_about_95_percent_of_the_time() -> None:
    # Given 60 trials without any effect, each ranked by an unrelated trait
    inside = 0
    for seed in range(60):
        trait, treated, outcome = trial(600, effect=0.0, seed=100 + seed)

        # When each is judged against its own band
        baseline = qini_baseline(
            uplift_scores=trait, treatment=treated, outcome=outcome, seed=seed, resamples=1
        )
        inside += baseline.noise_low <= baseline.qini <= baseline.noise_high

    # Then nearly all lie inside (95% expected; 53 of 60 or fewer happens 1% of the time)
    assert inside >= 54


def test_a_fitted_model_on_a_real_signal_beats_the_band_and_one_on_noise_does_not() -> None:
    # Given two trials of 6,000 customers, one with an uplift in the trait and one without
    results = {}
    for effect in (0.15, 0.0):
        trait, treated, outcome = trial(6000, effect=effect, seed=11)
        table = pa.table({"trait": trait, "other": np.random.default_rng(5).random(6000)})
        fit, judge = np.arange(6000) < 4000, np.arange(6000) >= 4000

        # When an X-learner fitted on two thirds ranks the other third
        model = fit_uplift(
            features=table.filter(pa.array(fit)),
            treatment=treated[fit],
            outcome=outcome[fit],
            learner=Learner.X_LEARNER,
            params={"min_data_in_leaf": 100, "num_leaves": 7, "verbosity": -1, "seed": 7},
        )
        results[effect] = qini_baseline(
            uplift_scores=model.predict(table.filter(pa.array(judge))),
            treatment=treated[judge],
            outcome=outcome[judge],
        )

    # Then the real uplift is told apart from noise
    assert results[0.15].above_noise
    assert not results[0.0].above_noise


def test_ties_are_kept_in_every_random_ordering() -> None:
    # Given a score with two values only (a rule: 1 for some customers, 0 for the rest)
    trait, treated, outcome = trial(2000, effect=0.1, seed=4)
    rule = (trait > 0.5).astype(float)

    # When its baseline is drawn, and a constant score's
    ruled = qini_baseline(uplift_scores=rule, treatment=treated, outcome=outcome)
    flat = qini_baseline(uplift_scores=np.zeros(2000), treatment=treated, outcome=outcome)

    # Then the rule's Qini is the curve's, and a constant score is exactly random targeting
    assert (
        ruled.qini == qini_curve(uplift_scores=rule, treatment=treated, outcome=outcome).coefficient
    )
    assert ruled.above_noise
    assert flat.qini == flat.noise_low == flat.noise_high == pytest.approx(0.0, abs=1e-12)


def test_the_baseline_is_seeded_and_quick() -> None:
    # Given 30,000 customers (a held-out third of a large campaign)
    trait, treated, outcome = trial(30_000, effect=0.05, seed=9)

    # When the baseline is drawn twice with the same seed
    began = time.perf_counter()
    first = qini_baseline(uplift_scores=trait, treatment=treated, outcome=outcome, seed=1)
    seconds = time.perf_counter() - began
    again = qini_baseline(uplift_scores=trait, treatment=treated, outcome=outcome, seed=1)

    # Then it gives the same figures, in seconds (200 orderings and 200 resamples)
    assert first == again
    assert seconds < 30


def test_a_baseline_needs_both_groups() -> None:
    with pytest.raises(QiniError, match="treated and control"):
        qini_baseline(uplift_scores=[0.1, 0.2], treatment=[True, True], outcome=[1, 0])
