"""The evaluation against the campaign's design estimate (收益测算), like with like.

The estimate (`estimate.Estimate`) forecasts takers, and a net revenue of its own definition:
takers × the revenue one taker keeps or adds a month × the months it counts − costs. For a
retention campaign that revenue is the ARPU a save keeps, not what the response files record
(orders in the window). So the measured order revenue is never set against the estimate's net
revenue. Each estimated quantity is compared with its measured counterpart instead:

- takers: the estimate's takers (low, expected, high) against the incremental takers, the
  treated responders beyond the control group's rate, with their interval;
- net revenue: takers × revenue per taker − costs, against incremental takers × the same
  revenue per taker − the costs spent;
- ROI: net revenue / costs, against the measured net revenue above / the costs spent.

The revenue per taker is the estimate's own assumption (`incremental_monthly_revenue` ×
`months`), so the net revenue and ROI rows differ from the estimate only by what was
measured: how many takers the campaign added, and what it cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.translation import gettext, gettext_lazy

from quanwang.campaigns.evaluation import (
    Comparison,
    EstimatePosition,
    EvaluationError,
    Interval,
    RevenueEstimate,
    position_in,
)

MONTHLY_REVENUE = "incremental_monthly_revenue"
MONTHS = "months"


class EstimateQuantity(models.TextChoices):
    """The quantities of the design estimate that the evaluation measures."""

    TAKERS = "takers", gettext_lazy("Incremental takers")
    NET_REVENUE = "net_revenue", gettext_lazy("Net revenue, as the estimate counts it")
    ROI = "roi", gettext_lazy("ROI, as the estimate counts it")


@dataclass(frozen=True)
class DesignEstimate:
    """What the campaign's estimate forecast, read from `Campaign.estimate`."""

    takers: RevenueEstimate
    net_revenue: RevenueEstimate | None
    roi: RevenueEstimate | None
    monthly_revenue: float | None  # per taker, the estimate's assumption
    months: float | None

    @property
    def revenue_per_taker(self) -> float | None:
        if self.monthly_revenue is None or self.months is None:
            return None
        return self.monthly_revenue * self.months


@dataclass(frozen=True)
class EstimateCheck:
    """One estimated quantity against its measured counterpart."""

    quantity: EstimateQuantity
    estimate: RevenueEstimate
    actual: float
    actual_ci: Interval | None
    position: EstimatePosition
    ratio_to_expected: float | None


def _range(values: Any) -> RevenueEstimate | None:
    """A stored (low, expected, high) triple as a range; None when it is incomplete."""
    if not isinstance(values, list | tuple) or len(values) != 3:
        return None
    if any(not isinstance(v, int | float) for v in values):
        return None
    low, expected, high = sorted(float(v) for v in values)
    try:
        return RevenueEstimate(low=low, expected=expected, high=high)
    except EvaluationError:  # pragma: no cover - sorted values always satisfy the order
        return None


def design_estimate(stored: Mapping[str, Any] | None) -> DesignEstimate | None:
    """The design estimate as stored on the campaign (`Estimate.as_json`); None without one."""
    if not stored:
        return None
    takers = _range(stored.get("takers"))
    if takers is None:
        return None
    assumed = {
        a.get("name"): a.get("value")
        for a in stored.get("assumptions") or []
        if isinstance(a, Mapping)
    }
    monthly, months = assumed.get(MONTHLY_REVENUE), assumed.get(MONTHS)
    return DesignEstimate(
        takers=takers,
        net_revenue=_range(stored.get("net_revenue")),
        roi=_range(stored.get("roi")),
        monthly_revenue=float(monthly) if isinstance(monthly, int | float) else None,
        months=float(months) if isinstance(months, int | float) else None,
    )


def _check(
    quantity: EstimateQuantity,
    estimate: RevenueEstimate,
    actual: float,
    ci: Interval | None,
) -> EstimateCheck:
    return EstimateCheck(
        quantity=quantity,
        estimate=estimate,
        actual=actual,
        actual_ci=ci,
        position=position_in(estimate, actual),
        ratio_to_expected=actual / estimate.expected if estimate.expected else None,
    )


def check_against_estimate(*, overall: Comparison, estimate: DesignEstimate) -> list[EstimateCheck]:
    """Each quantity the estimate forecast against its measured like (module docstring); none
    when the evaluation measured no uplift (no control group or no treated customers)."""
    takers = overall.incremental_responders
    if takers is None:
        return []
    checks = [
        _check(EstimateQuantity.TAKERS, estimate.takers, takers, overall.incremental_responders_ci)
    ]
    per_taker = estimate.revenue_per_taker
    if per_taker is None or estimate.net_revenue is None:
        return checks
    costs = overall.costs.total
    ci = overall.incremental_responders_ci
    net_ci = ci.scaled(per_taker, -costs) if ci else None
    net = takers * per_taker - costs
    checks.append(_check(EstimateQuantity.NET_REVENUE, estimate.net_revenue, net, net_ci))
    if estimate.roi is not None and costs > 0:
        roi_ci = net_ci.scaled(1 / costs) if net_ci else None
        checks.append(_check(EstimateQuantity.ROI, estimate.roi, net / costs, roi_ci))
    return checks


def headline(checks: list[EstimateCheck]) -> EstimateCheck | None:
    """The check the verdict is read from: net revenue where the estimate counted it, else
    takers."""
    by_quantity = {c.quantity: c for c in checks}
    return by_quantity.get(EstimateQuantity.NET_REVENUE) or by_quantity.get(EstimateQuantity.TAKERS)


def estimate_notes(
    *, checks: Sequence[EstimateCheck], revenue_per_taker: float | None
) -> list[str]:
    """Which measured quantity each estimated one is set against (`estimate_check`)."""
    if not checks:
        return []
    notes = [
        gettext(
            "Incremental takers: the treated customers who responded beyond the control "
            "group's rate, against the takers the estimate forecast."
        )
    ]
    quantities = {c.quantity for c in checks}
    if EstimateQuantity.NET_REVENUE in quantities and revenue_per_taker is not None:
        notes.append(
            gettext(
                "Net revenue as the estimate counts it: incremental takers × %(per_taker)s "
                "yuan a taker (the estimate's own assumption) − the costs spent, against the "
                "estimate's net revenue; ROI is that net revenue over the costs spent."
            )
            % {"per_taker": f"{revenue_per_taker:,.2f}"}
        )
    notes.append(
        gettext(
            "The incremental order revenue of the loaded responses is reported above but not "
            "set against the estimate, which counts the revenue a taker keeps or adds over "
            "its months, not orders in the window."
        )
    )
    return notes
