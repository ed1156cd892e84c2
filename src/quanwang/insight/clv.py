"""Customer lifetime value models, fitted by maximum likelihood (scipy).

- Contractual (postpaid): the shifted-beta-geometric (sBG) retention model. Each month a
  customer leaves with probability θ ~ Beta(α, β). Customers are observed from some tenure
  on (left-truncated) until they leave or the data ends (censored).
- Non-contractual (prepaid): BG/NBD for the number of recharges (Poisson rate λ ~ Gamma(r, α),
  dropping out after each with p ~ Beta(a, b)) and Gamma-Gamma for their amounts
  (spend per transaction ~ Gamma(p, ν), ν ~ Gamma(q, γ)).

The prepaid inputs come from a raw transaction log (customer, date, amount) as Fader & Hardie
build them for CDNOW: transactions on one day are one (amounts summed), x counts the repeat
days, t_x and T run from the first day to the last and to the end of the period in one unit,
and Gamma-Gamma sees the mean value of the repeat transactions only (the first excluded).
`tests/insight/test_clv_cdnow.py` reproduces the published CDNOW parameters from the log.

References: Fader & Hardie, "How to project customer retention" (2007); Fader, Hardie & Lee,
"Counting your customers the easy way" (2005); Fader, Hardie & Lee, "RFM and CLV" (2005);
Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from quanwang.insight.features import POSTPAID, PREPAID
from quanwang.insight.months import Month

Array = npt.NDArray[np.float64]


class FitError(Exception):
    """The data cannot identify the model (too few customers, or no events)."""


def _collapse(*columns: npt.NDArray[Any]) -> tuple[list[Array], Array]:
    """Distinct rows of the given columns and how many customers share each: the likelihood
    is a sum over customers, so identical histories are computed once and weighted."""
    stacked = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    distinct, counts = np.unique(stacked, axis=0, return_counts=True)
    return [distinct[:, i] for i in range(distinct.shape[1])], counts.astype(np.float64)


def _fit(loss: Any, start: list[float], *, gradient: bool = False) -> Array:
    """Minimise `loss` over the log-parameters (positive parameters, no bounds to hit); with
    `gradient`, `loss` also returns its gradient, and the search needs about a seventh of
    the evaluations finite differences do."""
    # Tight tolerances: the same data on another engine must give the same fit. The line
    # search probes parameters far out, where the likelihood overflows to inf or NaN; it
    # rejects those steps itself and the result is checked below, so numpy's warnings about
    # them are noise (English, on the demo's terminal) and are silenced here only.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = minimize(
            loss,
            x0=np.log(start),
            jac=gradient,
            method="L-BFGS-B",
            options={"ftol": 1e-14, "gtol": 1e-10},
        )
    if not np.all(np.isfinite(result.x)):
        raise FitError("the likelihood could not be maximised")
    return np.asarray(np.exp(result.x), dtype=np.float64)


# --- sBG ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SBG:
    alpha: float
    beta: float

    def survival(self, tenure: Array) -> Array:
        """P(still a customer after `tenure` periods)."""
        return np.exp(betaln(self.alpha, self.beta + tenure) - betaln(self.alpha, self.beta))

    def discounted_residual_lifetime(
        self, tenure: Array, *, discount: float = 0.01, horizon: int = 120
    ) -> Array:
        """Expected discounted periods still to come for customers alive at `tenure`: period k
        (k = 1 … `horizon`) counts if the customer is still there at its end, S(tenure + k) /
        S(tenure), discounted by (1 + discount)^k, so the first period ahead is discounted too.
        A finite sum, not Fader & Hardie's DERL (infinite, the next period undiscounted)."""
        t = np.asarray(tenure, dtype=np.float64)[:, None]
        ahead = np.arange(1, horizon + 1, dtype=np.float64)[None, :]
        alive = self.survival(t + ahead) / self.survival(t)
        return np.asarray((alive / (1 + discount) ** ahead).sum(axis=1), dtype=np.float64)


def fit_sbg(*, entered: Array, ended: Array, churned: npt.NDArray[np.bool_]) -> SBG:
    """Fit α, β from customers seen from tenure `entered` to tenure `ended` (whole periods),
    where `churned` says whether they left at `ended` or were still there (censored)."""
    if np.asarray(churned).sum() == 0:
        raise FitError("no one left: retention cannot be estimated")
    (entered, ended, left), weight = _collapse(entered, ended, churned)
    churned = left > 0

    def loss(log_params: Array) -> float:
        a, b = np.exp(log_params)
        base = betaln(a, b)
        log_s_entered = betaln(a, b + entered) - base
        leave = betaln(a + 1, b + ended - 1) - base  # P(T = ended)
        stay = betaln(a, b + ended) - base  # P(T > ended)
        ll = np.where(churned, leave, stay) - log_s_entered
        return float(-(weight * ll).sum())

    alpha, beta = _fit(loss, [1.0, 1.0])
    return SBG(alpha=float(alpha), beta=float(beta))


# --- BG/NBD ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def expected_transactions(self, horizon: float, x: Array, t_x: Array, age: Array) -> Array:
        """E[transactions in the next `horizon`] for customers with history (x, t_x, T)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (x, t_x, age))
        z = horizon / (alpha + age + horizon)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + age) / (alpha + age + horizon)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        alive = 1 + (x > 0) * (a / np.maximum(b + x - 1, 1e-12)) * (
            (alpha + age) / (alpha + t_x)
        ) ** (r + x)
        return np.asarray(head * tail / alive, dtype=np.float64)

    def discounted_transactions(
        self, x: Array, t_x: Array, age: Array, *, periods: int, length: float, discount: float
    ) -> Array:
        """Σ_k (E[X(k·length)] − E[X((k−1)·length)]) / (1 + discount)^k over k = 1 … `periods`:
        the transactions expected in each of the next `periods` periods (of `length` in the
        model's unit), each discounted as if paid at the period's end."""
        # Histories repeat (whole days, small counts): 880,000 customers have ~210,000
        # distinct ones, and hyp2f1 is what costs.
        stacked = np.column_stack([np.asarray(v, dtype=np.float64) for v in (x, t_x, age)])
        rows = np.ascontiguousarray(stacked).view(np.dtype((np.void, 3 * 8))).ravel()
        _distinct, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        x, t_x, age = (stacked[first, i] for i in range(3))
        total = np.zeros(first.size, dtype=np.float64)
        previous: Array | float = 0.0
        for k in range(1, periods + 1):
            cumulative = self.expected_transactions(k * length, x, t_x, age)
            total += (cumulative - previous) / (1 + discount) ** k
            previous = cumulative
        return np.asarray(total[inverse.ravel()], dtype=np.float64)


# Without heterogeneity or drop-out (every customer the same Poisson rate) BG/NBD's maximum
# lies at infinity: the search runs off (r ~ 1e6 to 1e97 on such data), and the expectations
# computed from there are NaN or noise. Real fits sit orders of magnitude inside these bounds.
RUNAWAY = 1e8


def fit_bgnbd(*, x: Array, t_x: Array, age: Array) -> BGNBD:
    """Fit r, α, a, b from each customer's repeat count x, time of the last one t_x and age T."""
    if np.asarray(x).sum() == 0:
        raise FitError("no repeat transactions: BG/NBD cannot be estimated")
    (x, t_x, age), weight = _collapse(x, t_x, age)

    repeat = np.maximum(x, 1)  # the second term exists only for x > 0

    def loss(log_params: Array) -> tuple[float, Array]:
        """−log-likelihood and its gradient in the log-parameters (Fader, Hardie & Lee 2005,
        eq. 6: the likelihood is the sum of two terms, `first` and `second`)."""
        r, alpha, a, b = np.exp(log_params)
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        log_age, log_tx = np.log(alpha + age), np.log(alpha + t_x)
        first = betaln(a, b + x) - betaln(a, b) + common - (r + x) * log_age
        second = betaln(a + 1, b + repeat - 1) - betaln(a, b) + common - (r + x) * log_tx
        second = np.where(x > 0, second, -np.inf)
        ll = np.logaddexp(first, second)
        w1, w2 = np.exp(first - ll), np.exp(second - ll)  # each term's share of the sum
        d_common_r = digamma(r + x) - digamma(r) + np.log(alpha)
        d_ab = digamma(a + b) - digamma(a + b + x)  # ∂/∂a and ∂/∂b of lB(·+x) − lB(·)
        d_r = d_common_r - w1 * log_age - w2 * log_tx
        d_alpha = r / alpha - (r + x) * (w1 / (alpha + age) + w2 / (alpha + t_x))
        d_a = d_ab + w2 * (digamma(a + 1) - digamma(a))
        d_b = (
            d_ab + w1 * (digamma(b + x) - digamma(b)) + w2 * (digamma(b + repeat - 1) - digamma(b))
        )
        grad = np.array([(weight * d).sum() for d in (d_r, d_alpha, d_a, d_b)])
        return float(-(weight * ll).sum()), -grad * np.exp(log_params)

    r, alpha, a, b = _fit(loss, [1.0, 1.0, 1.0, 1.0], gradient=True)
    model = BGNBD(r=float(r), alpha=float(alpha), a=float(a), b=float(b))
    ran_off = not all(RUNAWAY**-1 < v < RUNAWAY for v in (r, alpha, a, b))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked just here
        expected = model.expected_transactions(age.max(), x, t_x, age)
    if ran_off or not np.all(np.isfinite(expected)):
        raise FitError("the recharges identify no BG/NBD: a parameter ran off to 0 or infinity")
    return model


# --- Gamma-Gamma -------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def expected_spend(self, x: Array, mean_spend: Array) -> Array:
        """E[spend per transaction] given x repeat transactions averaging `mean_spend`; with
        x = 0, the population mean γp / (q − 1)."""
        x = np.asarray(x, dtype=np.float64)
        m = np.asarray(mean_spend, dtype=np.float64)
        return np.asarray(
            (self.gamma + m * x) * self.p / (self.p * x + self.q - 1), dtype=np.float64
        )


def fit_gamma_gamma(*, x: Array, mean_spend: Array) -> GammaGamma:
    """Fit p, q, γ from customers with at least one repeat transaction: their number x and
    their mean value (the first transaction excluded); the others are left out."""
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(mean_spend, dtype=np.float64)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if x.size < 10:
        raise FitError("too few customers with transactions for Gamma-Gamma")
    (x, m), weight = _collapse(x, m)

    def loss(log_params: Array) -> float:
        p, q, g = np.exp(log_params)
        ll = (
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(g)
            + (p * x - 1) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(g + m * x)
        )
        return float(-(weight * ll).sum())

    p, q, g = _fit(loss, [1.0, 1.0, 1.0])
    return GammaGamma(p=float(p), q=float(q), gamma=float(g))


# --- inputs from the canonical tables (Ibis expressions, no engine) ------------------------

WINDOW_MONTHS = 12


def retention_inputs(subscribers: ir.Table, month: Month) -> ir.Table:
    """Postpaid customers seen in the 12 months to `month`: tenure periods at the window's
    start (`entered`), when they left or the data ends (`ended`), and whether they left."""
    end = month
    start = end.shift(-(WINDOW_MONTHS - 1))
    s = subscribers.filter(subscribers.payment_type == POSTPAID)
    joined = s.join_date.year().cast("int64") * 12 + s.join_date.month().cast("int64") - 1
    left = s.churn_date.year().cast("int64") * 12 + s.churn_date.month().cast("int64") - 1
    churned = s.churn_date.notnull() & (s.churn_date <= ibis.date(end.last_day))
    seen = s.mutate(
        cohort=s.join_date.year().cast("int64"),
        entered=ibis.greatest(start.index - joined, 0),
        ended=ibis.ifelse(churned, left - joined + 1, end.index - joined + 1),
        churned=churned,
    )
    alive_at_start = seen.churn_date.isnull() | (seen.churn_date >= ibis.date(start.first_day))
    window = seen.filter(
        alive_at_start & (seen.join_date <= ibis.date(end.last_day)) & (seen.ended > seen.entered)
    )
    return window.select("subscriber_id", "cohort", "entered", "ended", "churned")


class TimeUnit(Enum):
    """The unit of t_x and T, in days."""

    DAY = 1
    WEEK = 7


def transaction_summary(
    log: ir.Table,
    *,
    start: dt.date,
    end: dt.date,
    unit: TimeUnit = TimeUnit.WEEK,
    customer: str = "subscriber_id",
    day: str = "recharge_date",
    amount: str = "amount",
) -> ir.Table:
    """Each customer's transactions from `start` to `end` (both included) as BG/NBD and
    Gamma-Gamma need them: x, the repeat transactions; t_x and T (`age`), the time from the
    first to the last and to `end`, in `unit`; `mean_repeat_spend`, the mean value of the
    repeat transactions (0 without one).

    Transactions on one day are one, their amounts summed: the models count purchase
    occasions, and two top-ups in a minute are one decision (Fader & Hardie merge CDNOW's
    same-day orders likewise). Day counts are exact integers, so every engine agrees."""
    window = log.filter(log[day].between(ibis.date(start), ibis.date(end)))
    daily = window.group_by([customer, day]).aggregate(value=window[amount].cast("float64").sum())
    per = daily.group_by(customer).aggregate(
        days=daily.count(),
        first=daily[day].min(),
        last=daily[day].max(),
        total=daily.value.sum(),
        first_value=daily.value.argmin(daily[day]),
    )
    repeats = (per.days - 1).cast("float64")
    width = float(unit.value)
    return per.select(
        customer,
        x=repeats,
        t_x=per.last.delta(per.first, unit="day").cast("float64") / width,
        age=ibis.date(end).delta(per.first, unit="day").cast("float64") / width,
        mean_repeat_spend=ibis.ifelse(
            repeats > 0, (per.total - per.first_value) / repeats, 0.0
        ).round(6),
    )


def recharge_inputs(recharges: ir.Table, subscribers: ir.Table, month: Month) -> ir.Table:
    """Prepaid customers' recharges in the 12 months to `month`, summarised in weeks
    (`transaction_summary`): a customer's first recharge in the window is their start."""
    prepaid = subscribers.filter(subscribers.payment_type == PREPAID).select("subscriber_id")
    return transaction_summary(
        recharges.join(prepaid, "subscriber_id"),
        start=month.shift(-(WINDOW_MONTHS - 1)).first_day,
        end=month.last_day,
        unit=TimeUnit.WEEK,
    )


@dataclass(frozen=True)
class ClvFits:
    sbg_by_cohort: dict[int, SBG]
    sbg_pooled: SBG
    bgnbd: BGNBD | None
    gamma_gamma: GammaGamma | None

    def summary(self) -> dict[str, Any]:
        return {
            "sbg_pooled": vars(self.sbg_pooled),
            "sbg_cohorts": len(self.sbg_by_cohort),
            "bgnbd": vars(self.bgnbd) if self.bgnbd else None,
            "gamma_gamma": vars(self.gamma_gamma) if self.gamma_gamma else None,
        }


MIN_COHORT, MIN_COHORT_LEAVERS = 2_000, 30


# Each fit sees at most this many customers, drawn at random with a fixed seed: the models
# have two to four parameters, whose standard errors at 100,000 customers are well under 1%,
# while the likelihood's cost grows with the rows (BG/NBD over 217k prepaid customers: 8 s).
FIT_SAMPLE = 100_000
FIT_SEED = 20241


def fit_sample(size: int, *, cap: int = FIT_SAMPLE) -> npt.NDArray[np.intp] | slice:
    """The rows a fit uses: all of them up to `cap`, else a seeded sample in row order (the
    inputs come sorted by subscriber, so every engine gives the same sample)."""
    if size <= cap:
        return slice(None)
    return np.sort(np.random.default_rng(FIT_SEED).choice(size, cap, replace=False))


def fit_all(retention: Any, recharges: Any) -> ClvFits:
    """sBG per join-year cohort (pooled where a cohort is small), BG/NBD and Gamma-Gamma, each
    on at most `FIT_SAMPLE` customers."""
    cohorts = np.asarray(retention["cohort"], dtype=np.int64)
    entered = np.asarray(retention["entered"], dtype=np.float64)
    ended = np.asarray(retention["ended"], dtype=np.float64)
    churned = np.asarray(retention["churned"], dtype=bool)
    rows = fit_sample(cohorts.size)
    pooled = fit_sbg(entered=entered[rows], ended=ended[rows], churned=churned[rows])
    by_cohort = {}
    for cohort in np.unique(cohorts):
        members = np.flatnonzero(cohorts == cohort)
        if members.size >= MIN_COHORT and churned[members].sum() >= MIN_COHORT_LEAVERS:
            members = members[fit_sample(members.size)]
            by_cohort[int(cohort)] = fit_sbg(
                entered=entered[members], ended=ended[members], churned=churned[members]
            )
    bg, gg = fit_prepaid(recharges)
    return ClvFits(sbg_by_cohort=by_cohort, sbg_pooled=pooled, bgnbd=bg, gamma_gamma=gg)


def fit_prepaid(recharges: Any) -> tuple[BGNBD | None, GammaGamma | None]:
    """BG/NBD on every customer of `recharges` (`transaction_summary`'s columns) and
    Gamma-Gamma on those with a repeat, each on at most `FIT_SAMPLE` customers; None where
    there is nothing to fit."""
    x = np.asarray(recharges["x"], dtype=np.float64)
    if not x.size or x.sum() == 0:
        return None, None
    rows = fit_sample(x.size)
    x = x[rows]
    try:
        bg = fit_bgnbd(
            x=x, t_x=np.asarray(recharges["t_x"])[rows], age=np.asarray(recharges["age"])[rows]
        )
    except FitError:
        return None, None  # postpaid CLV stands without it
    try:
        gg = fit_gamma_gamma(x=x, mean_spend=np.asarray(recharges["mean_repeat_spend"])[rows])
    except FitError:
        gg = None
    return bg, gg


# The CLV convention (docs/insight.md, "CLV"): 12 monthly periods, each one's cash counted at
# its end and discounted 1% a month, the first month included; a sum, not DERL/DERT.
MONTHLY_DISCOUNT = 0.01
HORIZON_MONTHS = 12
WEEKS_PER_MONTH = 52.0 / HORIZON_MONTHS  # the prepaid models count in weeks; 12 months = 52


def customer_clv(fits: ClvFits, wide: Any, retention: Any, recharges: Any) -> Array:
    """12-month CLV (¥) of each row of the wide table, in its order; NaN where no model fits.

    Each of the next 12 months' cash is counted at the month's end and discounted by
    (1 + MONTHLY_DISCOUNT)^k, month k = 1 … 12. Postpaid: 3-month ARPU × the discounted
    months retained (sBG of the customer's join-year cohort, pooled where the cohort is
    small). Prepaid: the discounted recharges expected in each month (BG/NBD, a month being
    52/12 weeks) × the expected amount per recharge (Gamma-Gamma).
    """
    ids = wide.column("subscriber_id").to_pylist()
    arpu = np.asarray(wide.column("arpu_3m").to_numpy(zero_copy_only=False), dtype=np.float64)
    prepaid = np.asarray(wide.column("is_prepaid").to_numpy(zero_copy_only=False), dtype=bool)
    clv = np.full(len(ids), np.nan)

    retained = {sid: i for i, sid in enumerate(retention.column("subscriber_id").to_pylist())}
    periods = np.asarray(retention.column("ended").to_numpy(), dtype=np.float64)
    cohorts = np.asarray(retention.column("cohort").to_numpy(), dtype=np.int64)
    rows = np.array([i for i, sid in enumerate(ids) if not prepaid[i] and sid in retained])
    if rows.size:
        source = np.array([retained[ids[i]] for i in rows])
        for cohort in np.unique(cohorts[source]):
            chosen = cohorts[source] == cohort
            model = fits.sbg_by_cohort.get(int(cohort), fits.sbg_pooled)
            months = model.discounted_residual_lifetime(
                periods[source[chosen]], discount=MONTHLY_DISCOUNT, horizon=HORIZON_MONTHS
            )
            clv[rows[chosen]] = arpu[rows[chosen]] * months

    if fits.bgnbd is not None and fits.gamma_gamma is not None:
        charged = {sid: i for i, sid in enumerate(recharges.column("subscriber_id").to_pylist())}
        rows = np.array([i for i, sid in enumerate(ids) if prepaid[i] and sid in charged])
        if rows.size:
            source = np.array([charged[ids[i]] for i in rows])

            def col(name: str) -> Array:
                values = recharges.column(name).to_numpy(zero_copy_only=False)
                return np.asarray(values, dtype=np.float64)[source]

            x, t_x, age = col("x"), col("t_x"), col("age")
            count = fits.bgnbd.discounted_transactions(
                x, t_x, age, periods=HORIZON_MONTHS, length=WEEKS_PER_MONTH,
                discount=MONTHLY_DISCOUNT,
            )  # fmt: skip
            clv[rows] = count * fits.gamma_gamma.expected_spend(x, col("mean_repeat_spend"))
    return clv
