"""Campaign evaluation: treated against control, on simulated audiences with a known truth."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from quanwang.campaigns.evaluation import (
    CampaignCosts,
    Caveat,
    Dimension,
    EstimatePosition,
    EvaluationError,
    Group,
    RevenueEstimate,
    evaluate,
    newcombe_interval,
    welch_interval,
)

COSTS = CampaignCosts(offer_cost_per_taker=20.0, contact_cost_per_contact=0.5)
TIERS = ("key", "large", "regular", "small")
CHANNELS = ("sms", "wechat", "outbound_call")
MEAN_SPEND = 80.0  # revenue of a responder ~ Gamma(2, 40); non-responders bring none


def audience(
    rng: np.random.Generator,
    *,
    treated: int,
    control: int,
    p_treated: float,
    p_control: float,
    extra: dict[str, Any] | None = None,
) -> pa.Table:
    is_treated = np.r_[np.ones(treated, bool), np.zeros(control, bool)]
    responded = rng.random(treated + control) < np.where(is_treated, p_treated, p_control)
    revenue = np.where(responded, rng.gamma(2.0, MEAN_SPEND / 2, treated + control), 0.0)
    return pa.table(
        {
            "subscriber_id": [f"S{i}" for i in range(treated + control)],
            "group": np.where(is_treated, Group.TREATED.value, Group.CONTROL.value),
            "responded": responded,
            "revenue": revenue,
            **(extra or {}),
        }
    )


def test_the_95_percent_intervals_cover_the_true_uplift_95_percent_of_the_time() -> None:
    # Given 400 campaigns with a true response uplift of 2 points (5% → 7%)
    rng = np.random.default_rng(2024)
    true_uplift, true_revenue = 0.02, 0.02 * MEAN_SPEND
    covered_uplift = covered_revenue = 0
    for _ in range(400):
        table = audience(rng, treated=3000, control=1000, p_treated=0.07, p_control=0.05)

        # When each is evaluated
        overall = evaluate(audience=table, costs=COSTS).overall

        # Then count how often the intervals hold the truth
        assert overall.uplift_ci is not None
        assert overall.revenue_per_head_difference_ci is not None
        covered_uplift += overall.uplift_ci.contains(true_uplift)
        covered_revenue += overall.revenue_per_head_difference_ci.contains(true_revenue)

    assert 0.92 <= covered_uplift / 400 <= 0.98, covered_uplift
    assert 0.92 <= covered_revenue / 400 <= 0.98, covered_revenue


def test_on_a_large_sample_the_point_estimates_are_right() -> None:
    rng = np.random.default_rng(7)
    table = audience(rng, treated=360_000, control=40_000, p_treated=0.12, p_control=0.08)

    result = evaluate(audience=table, costs=COSTS)
    overall = result.overall

    assert overall.treated.response_rate == pytest.approx(0.12, abs=0.002)
    assert overall.control.response_rate == pytest.approx(0.08, abs=0.003)
    assert overall.uplift == pytest.approx(0.04, abs=0.004)
    assert overall.relative_lift == pytest.approx(0.5, abs=0.06)
    assert overall.incremental_responders == pytest.approx(0.04 * 360_000, rel=0.1)
    assert overall.revenue_per_head_difference == pytest.approx(0.04 * MEAN_SPEND, rel=0.1)
    # The figures hang together: incremental revenue, costs and ROI.
    assert overall.incremental_revenue == pytest.approx(
        overall.revenue_per_head_difference * 360_000  # type: ignore[operator]
    )
    takers = overall.treated.responders
    assert overall.costs.total == pytest.approx(takers * 20.0 + 360_000 * 0.5)
    assert overall.roi == pytest.approx(
        (overall.incremental_revenue - overall.costs.total) / overall.costs.total  # type: ignore[operator]
    )
    assert overall.significant is True


def test_the_intervals_match_published_and_scipy_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80, method 10.
    interval = newcombe_interval(treated=(56, 70), control=(48, 80), confidence=0.95)
    assert (interval.low, interval.high) == pytest.approx((0.0524, 0.3339), abs=5e-5)

    # Welch: as scipy's unequal-variance t test says.
    rng = np.random.default_rng(3)
    table = audience(rng, treated=500, control=200, p_treated=0.3, p_control=0.2)
    overall = evaluate(audience=table, costs=COSTS).overall
    revenue = table.column("revenue").to_numpy()
    test = stats.ttest_ind(revenue[:500], revenue[500:], equal_var=False)
    expected = test.confidence_interval(0.95)
    assert overall.revenue_per_head_difference_ci is not None
    got = overall.revenue_per_head_difference_ci
    assert (got.low, got.high) == pytest.approx((expected.low, expected.high))
    assert welch_interval(
        treated=overall.treated, control=overall.control, confidence=0.95
    ) == pytest.approx(got)


def stratified(rng: np.random.Generator, size: int) -> pa.Table:
    """An audience whose control group is exactly 20% of every tier × grid stratum."""
    tier = np.repeat(np.array(TIERS), size // 4)
    grid = np.tile(np.repeat(np.array(["G1", "G2", "G3", "G4", "G5"]), size // 20), 4)
    # Within each (tier, grid) block of size/20 rows, the first fifth is the control group.
    block = size // 20
    is_control = (np.arange(size) % block) < block // 5
    uplift_by_tier = {"key": 0.06, "large": 0.04, "regular": 0.02, "small": 0.01}
    p = 0.05 + np.where(is_control, 0.0, np.vectorize(uplift_by_tier.get)(tier))
    responded = rng.random(size) < p
    channel = np.where(is_control, None, rng.choice(np.array(CHANNELS), size))
    return pa.table(
        {
            "subscriber_id": [f"S{i}" for i in range(size)],
            "group": np.where(is_control, Group.CONTROL.value, Group.TREATED.value),
            "responded": responded,
            "revenue": np.where(responded, rng.gamma(2.0, 40.0, size), 0.0),
            "value_tier": tier,
            "grid_id": grid,
            "channel": pa.array(channel, pa.string()),
        }
    )


def test_breakdowns_add_up_to_the_whole() -> None:
    table = stratified(np.random.default_rng(11), 40_000)

    result = evaluate(audience=table, costs=COSTS)
    overall = result.overall

    assert [c.key for c in result.by_tier] == list(TIERS)
    assert [c.key for c in result.by_org_unit] == ["G1", "G2", "G3", "G4", "G5"]
    assert result.org_unit_column == "grid_id"
    assert sorted(c.key or "" for c in result.by_channel) == sorted(CHANNELS)
    for dimension in (Dimension.TIER, Dimension.ORG_UNIT, Dimension.CHANNEL):
        parts = result.breakdown(dimension)
        assert sum(c.treated.size for c in parts) == overall.treated.size
        assert sum(c.treated.responders for c in parts) == overall.treated.responders
        assert sum(c.treated.revenue for c in parts) == pytest.approx(overall.treated.revenue)
        assert sum(c.costs.total for c in parts) == pytest.approx(overall.costs.total)
    for dimension in (Dimension.TIER, Dimension.ORG_UNIT):
        parts = result.breakdown(dimension)
        assert sum(c.control.size for c in parts) == overall.control.size
        # With the same control share in every stratum, the increments add up exactly.
        assert sum(c.incremental_responders or 0 for c in parts) == pytest.approx(
            overall.incremental_responders
        )
        assert sum(c.incremental_revenue or 0 for c in parts) == pytest.approx(
            overall.incremental_revenue
        )
    # Each channel is compared with the whole control group.
    assert all(c.control == overall.control for c in result.by_channel)
    # And the tiers' uplifts are in the order they were made.
    uplifts = [c.uplift or 0 for c in result.by_tier]
    assert uplifts == sorted(uplifts, reverse=True)


def test_an_empty_control_group_gives_no_uplift_and_says_why() -> None:
    table = audience(np.random.default_rng(1), treated=500, control=0, p_treated=0.1, p_control=0)

    overall = evaluate(audience=table, costs=COSTS).overall

    assert overall.uplift is None
    assert overall.uplift_ci is None
    assert overall.roi is None
    assert Caveat.NO_CONTROL in overall.caveats
    assert overall.treated.responders > 0
    assert overall.costs.total > 0  # what was spent is still reported


def test_no_treated_group_gives_no_uplift_and_says_why() -> None:
    table = audience(np.random.default_rng(1), treated=0, control=300, p_treated=0, p_control=0.1)

    result = evaluate(audience=table, costs=COSTS)

    assert result.overall.uplift is None
    assert Caveat.NO_TREATED in result.overall.caveats
    assert result.overall.treated.response_rate is None


def test_no_responders_anywhere_gives_a_zero_uplift_with_an_interval() -> None:
    table = audience(np.random.default_rng(1), treated=900, control=100, p_treated=0, p_control=0)

    overall = evaluate(audience=table, costs=COSTS).overall

    assert overall.uplift == 0
    assert overall.uplift_ci is not None
    assert overall.uplift_ci.low < 0 < overall.uplift_ci.high
    assert overall.relative_lift is None
    assert Caveat.NO_CONTROL_RESPONDERS in overall.caveats
    assert overall.revenue_per_head_difference_ci is not None
    assert overall.revenue_per_head_difference_ci.low == overall.revenue_per_head_difference_ci.high
    assert overall.roi == pytest.approx(-1.0)  # contact cost spent, nothing gained


def test_small_groups_get_figures_but_no_interval() -> None:
    table = audience(np.random.default_rng(5), treated=40, control=8, p_treated=0.5, p_control=0.2)

    overall = evaluate(audience=table, costs=COSTS).overall

    assert overall.uplift is not None
    assert overall.uplift_ci is None
    assert overall.revenue_per_head_difference_ci is None
    assert overall.significant is None
    assert Caveat.TOO_FEW in overall.caveats


def test_the_measured_revenue_is_placed_against_the_estimate() -> None:
    table = audience(
        np.random.default_rng(9), treated=20_000, control=5000, p_treated=0.1, p_control=0.05
    )
    net = evaluate(audience=table, costs=COSTS).overall.net_incremental_revenue
    assert net is not None

    def position(low: float, expected: float, high: float) -> EstimatePosition:
        estimate = RevenueEstimate(low=low, expected=expected, high=high)
        comparison = evaluate(audience=table, costs=COSTS, estimate=estimate).estimate
        assert comparison is not None
        assert comparison.actual == pytest.approx(net)
        return comparison.position

    assert position(net - 10, net, net + 10) == EstimatePosition.WITHIN
    assert position(net + 1, net + 2, net + 3) == EstimatePosition.BELOW
    assert position(net - 3, net - 2, net - 1) == EstimatePosition.ABOVE
    with pytest.raises(EvaluationError, match="low ≤ expected ≤ high"):
        RevenueEstimate(low=2, expected=1, high=3)


def test_zero_costs_leave_the_roi_undefined() -> None:
    table = audience(np.random.default_rng(2), treated=300, control=100, p_treated=0, p_control=0)
    free = CampaignCosts(offer_cost_per_taker=0, contact_cost_per_contact=0)

    overall = evaluate(audience=table, costs=free).overall

    assert overall.roi is None
    assert Caveat.NO_COSTS in overall.caveats


def test_unknown_groups_and_missing_columns_are_refused() -> None:
    table = pa.table(
        {"group": ["treated", "holdout"], "responded": [True, False], "revenue": [1.0, 0]}
    )
    with pytest.raises(EvaluationError, match="holdout"):
        evaluate(audience=table, costs=COSTS)
    with pytest.raises(EvaluationError, match="revenue"):
        evaluate(audience=table.drop(["revenue"]), costs=COSTS)
    unassigned = pa.table({"group": ["treated", None], "responded": [True, False],
                           "revenue": [1.0, 0.0]})  # fmt: skip
    with pytest.raises(EvaluationError, match=r"unknown groups \[None\]"):
        evaluate(audience=unassigned, costs=COSTS)


def test_nulls_count_as_no_response_and_no_revenue() -> None:
    table = pa.table(
        {
            "group": ["treated"] * 2 + ["control"] * 2,
            "responded": pa.array([True, None, None, False]),
            "revenue": pa.array([10.0, None, None, 0.0]),
            "channel": pa.array(["sms", None, None, None]),
        }
    )

    result = evaluate(audience=table, costs=COSTS, min_group=1)

    assert result.overall.treated.responders == 1
    assert result.overall.treated.revenue == 10.0
    assert result.overall.uplift == pytest.approx(0.5)
    # The treated member without a channel is its own stratum; control's nulls are not.
    assert [(c.key, c.treated.size) for c in result.by_channel] == [("sms", 1), (None, 1)]
