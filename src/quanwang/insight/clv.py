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

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

Array = npt.NDArray[np.float64]


class FitError(Exception):
    """The data cannot identify the model (too few customers, or no events)."""


def _fit(loss: Any, start: list[float]) -> Array:
    result = minimize(loss, x0=np.log(start), method="L-BFGS-B")
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
    entered = np.asarray(entered, dtype=np.float64)
    ended = np.asarray(ended, dtype=np.float64)
    if churned.sum() == 0:
        raise FitError("no one left: retention cannot be estimated")

    def loss(log_params: Array) -> float:
        a, b = np.exp(log_params)
        base = betaln(a, b)
        log_s_entered = betaln(a, b + entered) - base
        leave = betaln(a + 1, b + ended - 1) - base  # P(T = ended)
        stay = betaln(a, b + ended) - base  # P(T > ended)
        ll = np.where(churned, leave, stay) - log_s_entered
        return float(-ll.sum())

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
    x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (x, t_x, age))
    if x.sum() == 0:
        raise FitError("no repeat transactions: BG/NBD cannot be estimated")

    def loss(log_params: Array) -> float:
        r, alpha, a, b = np.exp(log_params)
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        first = betaln(a, b + x) - betaln(a, b) + common - (r + x) * np.log(alpha + age)
        second = betaln(a + 1, b + x - 1) - betaln(a, b) + common - (r + x) * np.log(alpha + t_x)
        ll = np.where(x > 0, np.logaddexp(first, np.where(x > 0, second, -np.inf)), first)
        return float(-ll.sum())

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
        return float(-ll.sum())

    p, q, g = _fit(loss, [1.0, 1.0, 1.0])
    return GammaGamma(p=float(p), q=float(q), gamma=float(g))
