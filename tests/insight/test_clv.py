"""CLV models recover the parameters of data simulated from them (within 5%)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from quanwang.insight.clv import (
    FIT_SAMPLE,
    FitError,
    fit_all,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_sample,
    fit_sbg,
)

RNG_SEED = 20241

pytestmark = pytest.mark.warehouse_only


def _close(fitted: float, true: float) -> bool:
    return abs(fitted - true) <= 0.05 * true


def test_sbg_recovers_alpha_and_beta_from_left_truncated_censored_customers() -> None:
    # Given 200,000 customers with θ ~ Beta(0.8, 2.5), seen from a tenure of 0-36 months
    # for 12 months
    rng = np.random.default_rng(RNG_SEED)
    theta = rng.beta(0.8, 2.5, 200_000)
    lifetime = rng.geometric(theta)  # the period in which each leaves, 1, 2, …
    entered = rng.integers(0, 37, theta.size)
    seen = lifetime > entered
    entered, lifetime = entered[seen], lifetime[seen]
    ended = np.minimum(lifetime, entered + 12)
    churned = lifetime <= entered + 12

    # When sBG is fitted
    model = fit_sbg(entered=entered, ended=ended, churned=churned)

    # Then both parameters are within 5%
    assert _close(model.alpha, 0.8), model
    assert _close(model.beta, 2.5), model


def test_bgnbd_recovers_its_four_parameters() -> None:
    # Given 50,000 prepaid customers: rate λ ~ Gamma(0.8, rate 2), dropout p ~ Beta(0.6, 3),
    # observed for 39 to 52 weeks
    rng = np.random.default_rng(RNG_SEED)
    n = 50_000
    lam = rng.gamma(0.8, 1 / 2.0, n)
    p = rng.beta(0.6, 3.0, n)
    age = rng.uniform(39, 52, n)
    x, t_x, now = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        nxt = now[active] + rng.exponential(1 / lam[active])
        inside = nxt <= age[active]
        index = np.flatnonzero(active)
        bought = index[inside]
        x[bought] += 1
        t_x[bought] = nxt[inside]
        now[bought] = nxt[inside]
        drops = bought[rng.random(bought.size) < p[bought]]
        active[index[~inside]] = False
        active[drops] = False

    # When BG/NBD is fitted
    model = fit_bgnbd(x=x, t_x=t_x, age=age)

    # Then r, α, a and b are within 5%
    for fitted, true in ((model.r, 0.8), (model.alpha, 2.0), (model.a, 0.6), (model.b, 3.0)):
        assert _close(fitted, true), model


def test_gamma_gamma_recovers_p_q_and_gamma() -> None:
    # Given 200,000 customers whose recharges are Gamma(6, ν), ν ~ Gamma(4, rate 15)
    rng = np.random.default_rng(RNG_SEED)
    n = 200_000
    nu = rng.gamma(4.0, 1 / 15.0, n)
    x = 1 + rng.poisson(3.0, n)
    totals = rng.gamma(6.0 * x, 1 / nu)  # a sum of x Gamma(6, ν) amounts
    model = fit_gamma_gamma(x=x, mean_spend=totals / x)

    for fitted, true in ((model.p, 6.0), (model.q, 4.0), (model.gamma, 15.0)):
        assert _close(fitted, true), model


def test_expected_values_behave() -> None:
    from quanwang.insight.clv import BGNBD, SBG, GammaGamma

    sbg = SBG(alpha=1.0, beta=3.0)
    # longer tenure, higher retention: more expected lifetime
    assert np.all(np.diff(sbg.discounted_residual_lifetime(np.array([0.0, 12.0, 48.0]))) > 0)
    bg = BGNBD(r=0.8, alpha=2.0, a=0.6, b=3.0)
    recent, lapsed = bg.expected_transactions(
        10, np.array([5.0, 5.0]), np.array([38.0, 5.0]), np.array([40.0, 40.0])
    )
    assert recent > lapsed
    gg = GammaGamma(p=6.0, q=4.0, gamma=15.0)
    assert gg.expected_spend(np.array([10.0]), np.array([50.0]))[0] == pytest.approx(
        (15 + 500) * 6 / (60 + 4 - 1)
    )


def test_no_churn_at_all_is_refused() -> None:
    with pytest.raises(FitError, match="no one left"):
        fit_sbg(
            entered=np.array([0.0, 1.0]),
            ended=np.array([12.0, 13.0]),
            churned=np.array([False, False]),
        )


def test_a_fit_sample_is_every_row_up_to_the_cap_and_a_fixed_sorted_draw_beyond() -> None:
    # Given sizes under and over the cap
    # When the rows to fit are drawn twice
    small = fit_sample(500, cap=1_000)
    first, again = fit_sample(5_000, cap=1_000), fit_sample(5_000, cap=1_000)

    # Then a small input is used whole and a large one gives the same sorted 1,000 rows
    assert small == slice(None)
    assert isinstance(first, np.ndarray)
    assert isinstance(again, np.ndarray)
    assert first.size == 1_000
    assert np.array_equal(first, again)
    assert np.all(np.diff(first) > 0)


def test_fit_all_recovers_sbg_from_a_sample_of_a_large_population() -> None:
    # Given a million postpaid customers, a quarter still with us when observation starts
    # (more than FIT_SAMPLE), with θ ~ Beta(0.8, 2.5)
    rng = np.random.default_rng(RNG_SEED)
    theta = rng.beta(0.8, 2.5, 1_000_000)
    lifetime = rng.geometric(theta)
    entered = rng.integers(0, 37, theta.size)
    seen = lifetime > entered
    entered, lifetime = entered[seen], lifetime[seen]
    assert entered.size > FIT_SAMPLE
    retention = {
        "cohort": np.zeros(entered.size, dtype=np.int64),
        "entered": entered,
        "ended": np.minimum(lifetime, entered + 12),
        "churned": lifetime <= entered + 12,
    }

    # When every model is fitted (no prepaid customers)
    fits = fit_all(retention, {"x": np.zeros(0)})

    # Then the pooled sBG is within 5% of the truth
    assert _close(fits.sbg_pooled.alpha, 0.8), fits.sbg_pooled
    assert _close(fits.sbg_pooled.beta, 2.5), fits.sbg_pooled


def test_a_search_that_probes_far_out_prints_no_numpy_warning() -> None:
    # Given 400 customers of nearly one rate (r = 15: little heterogeneity) counted in whole
    # weeks, where L-BFGS-B's line search tries parameters whose likelihood overflows
    rng = np.random.default_rng(2)
    n = 400
    lam, p = rng.gamma(15.0, 1 / 22.0, n), rng.beta(14.0, 13.0, n)
    age = np.floor(rng.uniform(1, 60, n))
    x, t_x, now = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        nxt = now[active] + rng.exponential(1 / lam[active])
        inside = nxt <= age[active]
        index = np.flatnonzero(active)
        bought = index[inside]
        x[bought] += 1
        t_x[bought], now[bought] = np.floor(nxt[inside]), nxt[inside]
        active[index[~inside]] = False
        active[bought[rng.random(bought.size) < p[bought]]] = False

    # When BG/NBD is fitted
    with warnings.catch_warnings(record=True) as printed:
        warnings.simplefilter("always")
        model = fit_bgnbd(x=x, t_x=t_x, age=age)

    # Then numpy printed nothing: `quanwang demo` showed such English warnings on the terminal
    assert not [w for w in printed if issubclass(w.category, RuntimeWarning)], printed[:3]
    assert all(np.isfinite(v) and v > 0 for v in (model.r, model.alpha, model.a, model.b))
