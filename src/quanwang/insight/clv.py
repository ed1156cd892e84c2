"""Customer lifetime value models, fitted by maximum likelihood (scipy).

- Contractual (postpaid): the shifted-beta-geometric (sBG) retention model. Each month a
  customer leaves with probability θ ~ Beta(α, β). Customers are observed from some tenure
  on (left-truncated) until they leave or the data ends (censored).
- Non-contractual (prepaid): BG/NBD for the number of recharges (Poisson rate λ ~ Gamma(r, α),
  dropping out after each with p ~ Beta(a, b)) and Gamma-Gamma for their amounts
  (spend per transaction ~ Gamma(p, ν), ν ~ Gamma(q, γ)).

References: Fader & Hardie, "How to project customer retention" (2007); Fader, Hardie & Lee,
"Counting your customers the easy way" (2005); Fader, Hardie & Lee, "RFM and CLV" (2005).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

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


def _fit(loss: Any, start: list[float]) -> Array:
    # Tight tolerances: the same data on another engine must give the same fit.
    result = minimize(
        loss, x0=np.log(start), method="L-BFGS-B", options={"ftol": 1e-14, "gtol": 1e-10}
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
        """Expected discounted periods still to come for customers alive at `tenure`."""
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


def fit_bgnbd(*, x: Array, t_x: Array, age: Array) -> BGNBD:
    """Fit r, α, a, b from each customer's repeat count x, time of the last one t_x and age T."""
    if np.asarray(x).sum() == 0:
        raise FitError("no repeat transactions: BG/NBD cannot be estimated")
    (x, t_x, age), weight = _collapse(x, t_x, age)

    def loss(log_params: Array) -> float:
        r, alpha, a, b = np.exp(log_params)
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        first = betaln(a, b + x) - betaln(a, b) + common - (r + x) * np.log(alpha + age)
        repeat = np.maximum(x, 1)  # the second term exists only for x > 0
        second = (
            betaln(a + 1, b + repeat - 1) - betaln(a, b) + common - (r + x) * np.log(alpha + t_x)
        )
        ll = np.logaddexp(first, np.where(x > 0, second, -np.inf))
        return float(-(weight * ll).sum())

    r, alpha, a, b = _fit(loss, [1.0, 1.0, 1.0, 1.0])
    return BGNBD(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


# --- Gamma-Gamma -------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def expected_spend(self, x: Array, mean_spend: Array) -> Array:
        """E[spend per transaction] given x transactions averaging `mean_spend`."""
        x = np.asarray(x, dtype=np.float64)
        m = np.asarray(mean_spend, dtype=np.float64)
        return np.asarray(
            (self.gamma + m * x) * self.p / (self.p * x + self.q - 1), dtype=np.float64
        )


def fit_gamma_gamma(*, x: Array, mean_spend: Array) -> GammaGamma:
    """Fit p, q, γ from customers with at least one transaction: count and mean amount."""
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
WEEK_DAYS = 7.0


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


def recharge_inputs(recharges: ir.Table, subscribers: ir.Table, month: Month) -> ir.Table:
    """Prepaid customers' recharges in the 12 months to `month`, as BG/NBD and Gamma-Gamma
    need them: repeat count x, weeks from the first to the last (t_x) and to the end (T),
    and the mean amount."""
    end = month
    start = ibis.date(end.shift(-(WINDOW_MONTHS - 1)).first_day)
    prepaid = subscribers.filter(subscribers.payment_type == PREPAID).select("subscriber_id")
    r = recharges.filter(recharges.recharge_date.between(start, ibis.date(end.last_day)))
    r = r.join(prepaid, "subscriber_id")
    per = r.group_by("subscriber_id").aggregate(
        n=r.count(),
        first=r.recharge_date.min(),
        last=r.recharge_date.max(),
        amount=r.amount.mean(),
    )
    last_day = ibis.date(end.last_day)
    return per.select(
        "subscriber_id",
        x=(per.n - 1).cast("float64"),
        t_x=per.last.delta(per.first, unit="day").cast("float64") / WEEK_DAYS,
        age=(last_day.delta(per.first, unit="day").cast("float64") + 1) / WEEK_DAYS,
        mean_spend=per.amount.cast("float64").round(6),
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
    x = np.asarray(recharges["x"], dtype=np.float64)
    bg = gg = None
    if x.size and x.sum() > 0:
        rows = fit_sample(x.size)
        x = x[rows]
        bg = fit_bgnbd(
            x=x, t_x=np.asarray(recharges["t_x"])[rows], age=np.asarray(recharges["age"])[rows]
        )
        try:
            gg = fit_gamma_gamma(x=x + 1, mean_spend=np.asarray(recharges["mean_spend"])[rows])
        except FitError:
            gg = None
    return ClvFits(sbg_by_cohort=by_cohort, sbg_pooled=pooled, bgnbd=bg, gamma_gamma=gg)


MONTHLY_DISCOUNT = 0.01
HORIZON_MONTHS = 12
HORIZON_WEEKS = 52.0


def customer_clv(fits: ClvFits, wide: Any, retention: Any, recharges: Any) -> Array:
    """12-month CLV (¥) of each row of the wide table, in its order; NaN where no model fits.

    Postpaid: 3-month ARPU × expected discounted months retained over the next 12 (sBG of the
    customer's join-year cohort, pooled where the cohort is small). Prepaid: expected recharges
    over the next 52 weeks (BG/NBD) × expected amount per recharge (Gamma-Gamma).
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
        months = np.arange(1, HORIZON_MONTHS + 1, dtype=np.float64)[None, :]
        weights = (1 + MONTHLY_DISCOUNT) ** -months
        for cohort in np.unique(cohorts[source]):
            chosen = cohorts[source] == cohort
            model = fits.sbg_by_cohort.get(int(cohort), fits.sbg_pooled)
            n = periods[source[chosen]][:, None]
            alive = model.survival(n + months) / model.survival(n)
            clv[rows[chosen]] = arpu[rows[chosen]] * (alive * weights).sum(axis=1)

    if fits.bgnbd is not None and fits.gamma_gamma is not None:
        charged = {sid: i for i, sid in enumerate(recharges.column("subscriber_id").to_pylist())}
        rows = np.array([i for i, sid in enumerate(ids) if prepaid[i] and sid in charged])
        if rows.size:
            source = np.array([charged[ids[i]] for i in rows])

            def col(name: str) -> Array:
                values = recharges.column(name).to_numpy(zero_copy_only=False)
                return np.asarray(values, dtype=np.float64)[source]

            x, t_x, age, spend = col("x"), col("t_x"), col("age"), col("mean_spend")
            count = fits.bgnbd.expected_transactions(HORIZON_WEEKS, x, t_x, age)
            clv[rows] = count * fits.gamma_gamma.expected_spend(x + 1, spend)
    return clv
