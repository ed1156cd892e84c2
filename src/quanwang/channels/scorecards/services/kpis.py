"""What a scorecard holds: the additive measures kept per grid and month, and the KPIs worked
out of them.

Every kept measure is a count or a sum, so the figures of several grids (a manager's, a
county's) add up exactly; a ratio is always divided out of the summed measures (ratio of sums),
never averaged over grids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from quanwang.insight.summary import RISK_BANDS

# The risk bands of the insight app (insight.summary.RISK_BANDS: 0-1%, 1-2%, 2-5%, 5-10%,
# ≥ 10% monthly churn probability); a customer is "high risk" from this band up (≥ 5%).
RISK_BAND_COUNT = len(RISK_BANDS) + 1
HIGH_RISK_FROM_BAND = 3


def risk_measure(band: int) -> str:
    return f"risk_{band}"


class Measure(models.TextChoices):
    """Additive figures of a grid's month (the kept file's keys)."""

    CUSTOMERS = "customers", _("Customers at month end")
    CUSTOMERS_START = "customers_start", _("Customers at month start")
    JOINS = "joins", _("Joined in the month")
    CHURNS = "churns", _("Left in the month")
    REVENUE = "revenue", _("Billed revenue (yuan)")
    BILLED = "billed", _("Customers billed")
    MOBILE = "mobile", _("Mobile customers")
    ON_5G = "on_5g", _("Mobile customers on a 5G plan")
    WITH_BROADBAND = "with_broadband", _("Mobile customers with broadband at home")
    SCORED = "scored", _("Customers with a churn score")
    TARGETED = "targeted", _("Customers contacted by campaigns")
    ACCEPTED = "accepted", _("Customers who took an offer")
    TASKS_TOTAL = "tasks_total", _("Tasks due")
    TASKS_DONE = "tasks_done", _("Tasks done")
    OFFER_COST = "offer_cost", _("Offer costs (yuan)")
    VISITS_DONE = "visits_done", _("Visits done")
    VISITS_PLANNED = "visits_planned", _("Visits planned")
    COMMISSION = "commission", _("Commissions paid (yuan)")


WAREHOUSE_MEASURES = (
    Measure.CUSTOMERS, Measure.CUSTOMERS_START, Measure.JOINS, Measure.CHURNS, Measure.REVENUE,
    Measure.BILLED, Measure.MOBILE, Measure.ON_5G, Measure.WITH_BROADBAND,
)  # fmt: skip
RISK_MEASURES = (Measure.SCORED.value, *(risk_measure(b) for b in range(RISK_BAND_COUNT)))


class Kpi(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    NET_ADDS = "net_adds", _("Net adds")
    REVENUE = "revenue", _("Revenue (yuan)")
    ARPU = "arpu", _("ARPU (yuan)")
    CHURN_RATE = "churn_rate", _("Churn rate")
    HIGH_RISK_SHARE = "high_risk_share", _("High churn-risk share")
    PENETRATION_5G = "penetration_5g", _("5G plan penetration")
    BROADBAND_PENETRATION = "broadband_penetration", _("Broadband / converged (融合) penetration")
    ACCEPTANCE_RATE = "acceptance_rate", _("Campaign acceptance")
    TASK_COMPLETION = "task_completion", _("Task completion")
    VISIT_ATTAINMENT = "visit_attainment", _("Visits done against plan")
    PROFIT = "profit", _("Grid P&L (yuan)")


class Shape(models.TextChoices):
    """How a KPI's value reads: a count, yuan, or a share (0..1, shown as a percentage)."""

    COUNT = "count"
    MONEY = "money"
    SHARE = "share"


Figures = Mapping[str, float]


@dataclass(frozen=True)
class KpiRule:
    kpi: Kpi
    shape: Shape
    #: Whether a higher value ranks first (churn and risk: lower is better).
    higher_is_better: bool
    #: The measures the value is made of: what the drill-down lists.
    measures: tuple[str, ...]
    value: Callable[[Figures], float | None]


def _get(figures: Figures, name: str) -> float:
    return float(figures.get(name, 0) or 0)


def _ratio(numerator: str, denominator: str) -> Callable[[Figures], float | None]:
    def value(figures: Figures) -> float | None:
        whole = _get(figures, denominator)
        return _get(figures, numerator) / whole if whole > 0 else None

    return value


def _high_risk(figures: Figures) -> float | None:
    scored = _get(figures, Measure.SCORED)
    if scored <= 0:
        return None
    high = sum(_get(figures, risk_measure(b)) for b in range(HIGH_RISK_FROM_BAND, RISK_BAND_COUNT))
    return high / scored


def profit(figures: Figures) -> float:
    """Revenue of the grid's customers − commissions paid in the grid − offer costs."""
    return (
        _get(figures, Measure.REVENUE)
        - _get(figures, Measure.COMMISSION)
        - _get(figures, Measure.OFFER_COST)
    )


RULES: dict[Kpi, KpiRule] = {
    rule.kpi: rule
    for rule in (
        KpiRule(
            Kpi.CUSTOMERS,
            Shape.COUNT,
            True,
            (Measure.CUSTOMERS,),
            lambda f: _get(f, Measure.CUSTOMERS),
        ),
        KpiRule(
            Kpi.NET_ADDS,
            Shape.COUNT,
            True,
            (Measure.JOINS, Measure.CHURNS),
            lambda f: _get(f, Measure.JOINS) - _get(f, Measure.CHURNS),
        ),
        KpiRule(
            Kpi.REVENUE, Shape.MONEY, True, (Measure.REVENUE,), lambda f: _get(f, Measure.REVENUE)
        ),
        KpiRule(
            Kpi.ARPU,
            Shape.MONEY,
            True,
            (Measure.REVENUE, Measure.BILLED),
            _ratio(Measure.REVENUE, Measure.BILLED),
        ),
        KpiRule(
            Kpi.CHURN_RATE,
            Shape.SHARE,
            False,
            (Measure.CHURNS, Measure.CUSTOMERS_START),
            _ratio(Measure.CHURNS, Measure.CUSTOMERS_START),
        ),
        KpiRule(Kpi.HIGH_RISK_SHARE, Shape.SHARE, False, RISK_MEASURES, _high_risk),
        KpiRule(
            Kpi.PENETRATION_5G,
            Shape.SHARE,
            True,
            (Measure.ON_5G, Measure.MOBILE),
            _ratio(Measure.ON_5G, Measure.MOBILE),
        ),
        KpiRule(
            Kpi.BROADBAND_PENETRATION,
            Shape.SHARE,
            True,
            (Measure.WITH_BROADBAND, Measure.MOBILE),
            _ratio(Measure.WITH_BROADBAND, Measure.MOBILE),
        ),
        KpiRule(
            Kpi.ACCEPTANCE_RATE,
            Shape.SHARE,
            True,
            (Measure.ACCEPTED, Measure.TARGETED),
            _ratio(Measure.ACCEPTED, Measure.TARGETED),
        ),
        KpiRule(
            Kpi.TASK_COMPLETION,
            Shape.SHARE,
            True,
            (Measure.TASKS_DONE, Measure.TASKS_TOTAL),
            _ratio(Measure.TASKS_DONE, Measure.TASKS_TOTAL),
        ),
        KpiRule(
            Kpi.VISIT_ATTAINMENT,
            Shape.SHARE,
            True,
            (Measure.VISITS_DONE, Measure.VISITS_PLANNED),
            _ratio(Measure.VISITS_DONE, Measure.VISITS_PLANNED),
        ),
        KpiRule(
            Kpi.PROFIT,
            Shape.MONEY,
            True,
            (Measure.REVENUE, Measure.COMMISSION, Measure.OFFER_COST),
            profit,
        ),
    )
}


def kpi_value(kpi: Kpi | str, figures: Figures) -> float | None:
    """The KPI of summed figures; None where it is a ratio over nothing."""
    return RULES[Kpi(kpi)].value(figures)


def add_up(parts: Iterable[Figures]) -> dict[str, float]:
    """Measures of several grids (or months) added up: what every ratio is divided out of."""
    total: dict[str, float] = {}
    for part in parts:
        for name, value in part.items():
            total[name] = total.get(name, 0) + (value or 0)
    return total


def kpi_label(kpi: Kpi | str) -> str | Promise:
    return Kpi(kpi).label
