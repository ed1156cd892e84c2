"""Scores on the wide table that need no trained model: value tiers, switching cost,
lifecycle stage and the 5G upgrade rule.

Ibis expressions only, like `features`; parameters come in as plain values.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from quanwang.insight.choices import LifecycleStage, ValueTier
from quanwang.insight.months import Month


@dataclass(frozen=True)
class TierParameters:
    """Cumulative shares of customers, by revenue, that close each tier above 小顾客."""

    window_months: int = 6
    key_share: float = 0.01
    large_share: float = 0.05
    regular_share: float = 0.20

    def __post_init__(self) -> None:
        if not 1 <= self.window_months <= 24:
            raise ValueError("the tier window is 1 to 24 months")
        if not 0 < self.key_share < self.large_share < self.regular_share < 1:
            raise ValueError("tier shares must rise: 0 < key < large < regular < 1")


def value_tiers(usage: ir.Table, wide: ir.Table, month: Month, params: TierParameters) -> ir.Table:
    """Rank by revenue over the window; customers with no revenue are always 小顾客."""
    window = usage.filter(usage.month.isin(month.back(params.window_months)))
    revenue = window.group_by("subscriber_id").aggregate(revenue_window=window.arpu.sum())
    ranked = wide.select("subscriber_id").left_join(revenue, "subscriber_id")
    # Rounded to fen: sums of the same amounts in another order must rank (and tie) the same
    # on every engine.
    ranked = ranked.select(
        "subscriber_id",
        revenue_window=ranked.revenue_window.fill_null(0).cast("float64").round(2),
    )
    order = [ibis.desc(ranked.revenue_window), ranked.subscriber_id]
    position = (ibis.row_number().over(order_by=order) + 1).cast("float64")
    share = position / ranked.count().over().cast("float64")
    ranked = ranked.mutate(revenue_rank_share=share)
    tier = ibis.cases(
        (ranked.revenue_window <= 0, ValueTier.SMALL.value),
        (ranked.revenue_rank_share <= params.key_share, ValueTier.KEY.value),
        (ranked.revenue_rank_share <= params.large_share, ValueTier.LARGE.value),
        (ranked.revenue_rank_share <= params.regular_share, ValueTier.REGULAR.value),
        else_=ValueTier.SMALL.value,
    )
    return ranked.mutate(value_tier=tier)


@dataclass(frozen=True)
class SwitchingCostWeights:
    """Points for each reason a customer would lose something by leaving (转移成本).

    Each component is scaled to 0..1 and the index is 100 × Σ weight × component / Σ weight.
    Points balance, prepaid balance and recent personalised care have no source table yet;
    their weights are 0 until they do (docs/insight.md).
    """

    contract: float = 25
    household_broadband: float = 15
    family_on_net: float = 15  # other members of the family group, up to 3
    tenure: float = 15  # full at 5 years
    enterprise: float = 10
    on_net_circle: float = 10  # share of the call circle on our network (亲情网 effect)

    def parts(self) -> dict[str, float]:
        return {
            "contract": self.contract,
            "household_broadband": self.household_broadband,
            "family_on_net": self.family_on_net,
            "tenure": self.tenure,
            "enterprise": self.enterprise,
            "on_net_circle": self.on_net_circle,
        }


def switching_cost(wide: ir.Table, weights: SwitchingCostWeights) -> ir.FloatingValue:
    """The 0-100 switching-cost index of each row of the wide table."""
    components = {
        "contract": wide.has_contract.cast("float64"),
        "household_broadband": wide.household_broadband.cast("float64"),
        "family_on_net": ibis.least(wide.family_size - 1, 3).cast("float64") / 3,
        "tenure": ibis.least(wide.tenure_months.cast("float64") / 60, 1.0),
        "enterprise": wide.enterprise_member.cast("float64"),
        "on_net_circle": wide.onnet_peer_share.fill_null(0),
    }
    parts = weights.parts()
    total = sum(parts.values()) or 1.0
    score: ir.FloatingValue = ibis.literal(0.0)
    for name, weight in parts.items():
        if weight:
            score = score + components[name] * weight
    return (score * (100.0 / total)).round(2)


@dataclass(frozen=True)
class LifecycleParameters:
    """The rules placing a customer in a lifecycle stage, checked in this order:

    拉新 with us fewer than `onboarding_months`; 促活 when spending falls (ln(1 + ARPU) of the
    last 2 months at least `falling_log_change` below the 2 before, about a quarter less) or
    usage has nearly stopped; 转化 when there is room to sell more (plan nearly used up, real
    overage fees, or a 5G phone on a non-5G plan); 留存 for the settled rest, whose job is to
    keep them.
    """

    onboarding_months: int = 3
    falling_log_change: float = -0.3
    dormant_minutes: float = 10
    dormant_gb: float = 0.5
    full_saturation: float = 0.9
    overage_3m: float = 20  # yuan over the last 3 months; a few yuan is noise

    def __post_init__(self) -> None:
        if not 1 <= self.onboarding_months <= 24:
            raise ValueError("the onboarding period is 1 to 24 months")
        if self.falling_log_change >= 0:
            raise ValueError("a falling spend is a negative change")


def lifecycle_stage(wide: ir.Table, params: LifecycleParameters) -> ir.StringValue:
    dormant = (wide.mou_3m.fill_null(0) < params.dormant_minutes) & (
        wide.dou_gb_3m.fill_null(0) < params.dormant_gb
    )
    room_to_grow = (
        (wide.saturation_3m.fill_null(0) >= params.full_saturation)
        | (wide.overage_fee_3m.fill_null(0) >= params.overage_3m)
        | wide.device_5g_on_non5g_plan
    )
    return ibis.cases(
        (wide.tenure_months < params.onboarding_months, LifecycleStage.ACQUIRE.value),
        (
            (wide.arpu_log_change_2m <= params.falling_log_change) | dormant,
            LifecycleStage.ACTIVATE.value,
        ),
        (room_to_grow, LifecycleStage.CONVERT.value),
        else_=LifecycleStage.RETAIN.value,
    )


@dataclass(frozen=True)
class UpgradeRule:
    """5G 迁转 by rule: a mobile line on a non-5G plan with a 5G phone that uses its plan."""

    min_saturation: float = 0.5


def upgrade_5g_rule(wide: ir.Table, rule: UpgradeRule) -> ir.BooleanValue:
    mobile_on_4g = ~wide.plan_5g & ~wide.is_broadband_line
    return (
        mobile_on_4g
        & wide.device_5g
        & (
            (wide.saturation_3m.fill_null(0) >= rule.min_saturation)
            | (wide.used_5g_share_3m.fill_null(0) > 0)
        )
    )
