"""Grading stores (三店): 重点店 key, 钉子店 anchor, 芝麻店 small, by the province's weighted rules.

Each criterion gives a store 0–100 points for the month:

- sales: the month's store_sales revenue (or units, as the rule set says), ranked;
- footfall: the month's store_traffic footfall, ranked;
- conversion: buyers / footfall of the month, ranked;
- location: the points the rule set gives the type of the store's grid (沿街 street grids,
  where people walk past, above 农村 rural ones), a fixed table rather than a rank;
- growth: the month's sales against the average of the `growth_months` months before it
  (those of them with sales), ranked.

A ranked criterion's points are the share of the other stores with a figure that this store
beats: 100 × (stores with a lower figure) / (stores with a figure − 1); ties get the same
points, the best store 100, the worst 0, a lone store 100. A store without the figure gets 0
(no traffic recorded: no footfall, no conversion), except growth, where a store without sales
before gets the neutral 50. A store without sales in the month has sales 0.

score = Σ weight × points / 100 (weights in % summing to 100), rounded to two decimals;
score ≥ key_min → 重点店, else score ≥ anchor_min → 钉子店, else 芝麻店.

All stores are ranked together, in one Ibis expression over the warehouse (DuckDB), so a month
is graded in one pass. The result is the same whatever order the rows come in, and sums of
revenue are exact decimals, so a re-run of a month gives the same scores and grades.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import ibis
import ibis.expr.types as ir

from quanwang.channels.choices import GradingCriterion, GridType, SalesMeasure, StoreGrade
from quanwang.channels.models import GradingRuleSet
from quanwang.insight.months import Month

C = GradingCriterion
RANKED = (C.SALES, C.FOOTFALL, C.CONVERSION, C.GROWTH)
# Points of a criterion whose figure a store lacks.
MISSING_POINTS: Mapping[GradingCriterion, float] = {
    C.SALES: 0.0,
    C.FOOTFALL: 0.0,
    C.CONVERSION: 0.0,
    C.GROWTH: 50.0,
}
GRADE_ORDER = (StoreGrade.SMALL, StoreGrade.ANCHOR, StoreGrade.KEY)

# The first rule set, saved when the province has none (rules.current_rule_set).
DEFAULT_WEIGHTS: Mapping[GradingCriterion, int] = {
    C.SALES: 40,
    C.FOOTFALL: 20,
    C.CONVERSION: 15,
    C.LOCATION: 15,
    C.GROWTH: 10,
}
DEFAULT_LOCATION_POINTS: Mapping[str, int] = MappingProxyType(
    {
        str(GridType.STREET): 100,
        str(GridType.PARK): 80,
        str(GridType.CAMPUS): 70,
        str(GridType.INDUSTRY): 60,
        str(GridType.RURAL): 40,
    }
)
DEFAULT_LOCATION_OTHER = 30
DEFAULT_KEY_MIN = 70
DEFAULT_ANCHOR_MIN = 40
DEFAULT_GROWTH_MONTHS = 3


@dataclass(frozen=True)
class Rules:
    """A rule set's content, apart from the database row."""

    weights: Mapping[GradingCriterion, int]
    key_min: int
    anchor_min: int
    sales_measure: SalesMeasure = SalesMeasure.REVENUE
    location_points: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_LOCATION_POINTS)
    )
    location_default: int = DEFAULT_LOCATION_OTHER
    growth_months: int = DEFAULT_GROWTH_MONTHS

    @classmethod
    def of(cls, rule_set: GradingRuleSet) -> Rules:
        return cls(
            weights={
                C.SALES: rule_set.weight_sales,
                C.FOOTFALL: rule_set.weight_footfall,
                C.CONVERSION: rule_set.weight_conversion,
                C.LOCATION: rule_set.weight_location,
                C.GROWTH: rule_set.weight_growth,
            },
            key_min=rule_set.key_min,
            anchor_min=rule_set.anchor_min,
            sales_measure=SalesMeasure(rule_set.sales_measure),
            location_points={str(k): int(v) for k, v in (rule_set.location_points or {}).items()},
            location_default=rule_set.location_default,
            growth_months=rule_set.growth_months,
        )

    def grade(self, score: float) -> StoreGrade:
        if score >= self.key_min:
            return StoreGrade.KEY
        if score >= self.anchor_min:
            return StoreGrade.ANCHOR
        return StoreGrade.SMALL


DEFAULT_RULES = Rules(
    weights=DEFAULT_WEIGHTS, key_min=DEFAULT_KEY_MIN, anchor_min=DEFAULT_ANCHOR_MIN
)

# The tables the grading reads.
TABLES = ("stores", "store_sales", "store_traffic", "grids")


def _rank_points(table: ir.Table, column: str, missing: float) -> ir.FloatingValue:
    """0–100: the share of the other stores with a figure that this one beats (module doc)."""
    value = table[column]
    # Nulls last on every engine, so that they never shift the ranks of the figures.
    lower = ibis.rank().over(order_by=ibis.asc(value, nulls_first=False))
    counted = value.count().over(ibis.window())
    ranked = ibis.ifelse(counted > 1, lower.cast("float64") * 100.0 / (counted - 1), 100.0)
    return ibis.ifelse(value.isnull(), missing, ranked).cast("float64")


def scored(tables: Mapping[str, ir.Table], *, month: Month, rules: Rules) -> ir.Table:
    """One row per store of the stores table: its figures, points, score and grade."""
    sales_rows = tables["store_sales"]
    if rules.sales_measure is SalesMeasure.UNITS:
        measure = sales_rows["units"].cast("int64")
    else:
        # Exact decimal sums: a re-run adds the same pennies whatever the threads do.
        measure = sales_rows["revenue"].cast("decimal(18, 2)")
    in_month = (
        sales_rows.filter(sales_rows.month == str(month))
        .group_by("store_id")
        .aggregate(month_sales=measure.sum().cast("float64"))
    )
    before = [str(month.shift(-i)) for i in range(1, rules.growth_months + 1)]
    prior = (
        sales_rows.filter(sales_rows.month.isin(before))
        .group_by("store_id")
        .aggregate(
            prior_total=measure.sum().cast("float64"), prior_months=sales_rows.month.nunique()
        )
    )
    traffic_rows = tables["store_traffic"]
    traffic = traffic_rows.filter(traffic_rows.month == str(month)).select(
        "store_id",
        month_footfall=traffic_rows.footfall.cast("float64"),
        month_buyers=traffic_rows.buyers.cast("float64"),
    )
    grids = tables["grids"].select("grid_id", "grid_type")
    stores = tables["stores"].select("store_id", "grid_id")
    joined = (
        stores.left_join(in_month, "store_id")
        .left_join(prior, "store_id")
        .left_join(traffic, "store_id")
        .left_join(grids, "grid_id")
    )
    sales = joined.month_sales.fill_null(0.0)
    prior_average = joined.prior_total / joined.prior_months
    figures = joined.select(
        "store_id",
        grid_type=joined.grid_type,
        sales=sales,
        footfall=joined.month_footfall,
        conversion=ibis.ifelse(
            joined.month_footfall > 0, joined.month_buyers / joined.month_footfall, ibis.null()
        ).cast("float64"),
        growth=ibis.ifelse(joined.prior_total > 0, sales / prior_average - 1.0, ibis.null()).cast(
            "float64"
        ),
    )
    location = (
        figures.grid_type.substitute(dict(rules.location_points), else_=rules.location_default)
        .fill_null(rules.location_default)
        .cast("float64")
    )
    points = {
        f"points_{criterion}": _rank_points(figures, str(criterion), MISSING_POINTS[criterion])
        for criterion in RANKED
    } | {f"points_{C.LOCATION}": location}
    with_points = figures.mutate(**points)
    total = sum(
        (with_points[f"points_{c}"] * (rules.weights[c] / 100.0) for c in GradingCriterion),
        start=ibis.literal(0.0),
    )
    with_score = with_points.mutate(score=total.round(2))
    grade = ibis.cases(
        (with_score.score >= rules.key_min, str(StoreGrade.KEY)),
        (with_score.score >= rules.anchor_min, str(StoreGrade.ANCHOR)),
        else_=str(StoreGrade.SMALL),
    )
    return with_score.mutate(grade=grade)


def reason(row: Mapping[str, Any], rules: Rules) -> dict[str, dict[str, Any]]:
    """Each criterion's figure, points, weight and contribution to the score, for the store
    page and the history (StoreGrading.criteria)."""
    figures = {
        C.SALES: row["sales"],
        C.FOOTFALL: row["footfall"],
        C.CONVERSION: row["conversion"],
        C.LOCATION: row["grid_type"],
        C.GROWTH: row["growth"],
    }
    out: dict[str, dict[str, Any]] = {}
    for criterion in GradingCriterion:
        points = float(row[f"points_{criterion}"])
        weight = rules.weights[criterion]
        figure = figures[criterion]
        out[str(criterion)] = {
            "value": round(figure, 4) if isinstance(figure, float) else figure,
            "points": round(points, 2),
            "weight": weight,
            "contribution": round(points * weight / 100.0, 2),
        }
    return out
