"""Revenue estimate (收益测算): takers × incremental monthly revenue × months − costs, as a range.

Every assumption is shown with where its default came from, and can be overridden. Where the
snapshot holds a model's output for the audience (churn risk, 5G propensity), the defaults use
it; otherwise they are the campaign type's defaults below. A campaign targeted by predicted
uplift takes its incremental takers from the model instead: mean predicted uplift × treated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from quanwang.campaigns.choices import CampaignType, Channel

# Share of the treated group who take the offer: low, expected, high.
TAKE_RATES = {
    CampaignType.RETENTION: (0.03, 0.06, 0.10),
    CampaignType.UPSELL: (0.02, 0.04, 0.07),
    CampaignType.MIGRATE_5G: (0.03, 0.06, 0.10),
    CampaignType.BUNDLE: (0.01, 0.025, 0.05),
    CampaignType.WIN_OVER: (0.005, 0.015, 0.03),
    CampaignType.WIN_BACK: (0.01, 0.03, 0.06),
    CampaignType.ACQUISITION: (0.005, 0.01, 0.02),
}
# Share of the treated group a channel reaches, and its cost per contact (yuan).
REACH = {
    Channel.SMS: 0.95,
    Channel.WECHAT: 0.6,
    Channel.APP_PUSH: 0.5,
    Channel.OUTBOUND_CALL: 0.45,
    Channel.TASK: 0.6,
}
CONTACT_COST = {
    Channel.SMS: 0.05,
    Channel.WECHAT: 0.02,
    Channel.APP_PUSH: 0.01,
    Channel.OUTBOUND_CALL: 2.0,
    Channel.TASK: 5.0,
}
BENEFIT_MONTHS = 12
ASSUMED_MONTHLY_CHURN = 0.015  # the middle of operators' published 1.0-1.8%


@dataclass(frozen=True)
class Assumption:
    name: str
    value: float
    source: str


@dataclass(frozen=True)
class Estimate:
    treated: int
    reached: float
    takers: tuple[float, float, float]  # low, expected, high
    net_revenue: tuple[float, float, float]
    costs: tuple[float, float, float]
    roi: tuple[float | None, float | None, float | None]
    assumptions: list[Assumption]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AudienceFacts:
    """What the frozen or previewed audience says about itself."""

    customers: int
    mean_arpu: float | None
    mean_churn_risk: float | None
    mean_upgrade_propensity: float | None


@dataclass(frozen=True)
class PredictedUplift:
    """The uplift model's word on the targeted customers: the mean predicted rise in the
    response rate a contact brings, and where that number comes from."""

    mean: float
    source: str


def estimate(
    *,
    campaign_type: CampaignType,
    audience: AudienceFacts,
    control_share: float,
    channels: list[Channel],
    offer_cost_per_taker: float,
    offer_monthly_revenue_change: float,
    overrides: dict[str, float] | None = None,
    uplift: PredictedUplift | None = None,
) -> Estimate:
    """The range of net revenue, with the assumptions behind it. With `uplift`, incremental
    takers are treated × predicted uplift (low / expected / high), in place of reach × take
    rate: the source campaign measured its response on everyone treated, reached or not."""
    given = overrides or {}
    assumptions: list[Assumption] = []

    def assume(name: str, default: float, source: str) -> float:
        value = float(given.get(name, default))
        assumptions.append(Assumption(name, value, "override" if name in given else source))
        return value

    treated = round(audience.customers * (1 - control_share))
    low, mid, high = TAKE_RATES[campaign_type]
    if uplift is not None:
        reach = 1.0  # already inside the measured uplift
        # The range keeps the relative width of the type's default take-rate range.
        widths = (low / mid, high / mid) if uplift.mean >= 0 else (high / mid, low / mid)
        kind = campaign_type.value

        def width_source(width: float) -> str:
            return f"expected × {width:.2f}, the relative width of the default range for {kind}"

        rates = (
            assume("uplift_low", uplift.mean * widths[0], width_source(widths[0])),
            assume("uplift_expected", uplift.mean, uplift.source),
            assume("uplift_high", uplift.mean * widths[1], width_source(widths[1])),
        )
    else:
        reach = assume(
            "reach",
            max((REACH[c] for c in channels), default=0.0),
            "best channel's reach: " + ", ".join(f"{c.value} {REACH[c]:.0%}" for c in channels),
        )
        rate_source = f"default for {campaign_type.value}"
        if (
            campaign_type is CampaignType.MIGRATE_5G
            and audience.mean_upgrade_propensity is not None
        ):
            # The look-alike's mean propensity scales the default: an audience that resembles
            # 5G customers more is likelier to move.
            factor = audience.mean_upgrade_propensity / 0.5
            low, mid, high = low * factor, mid * factor, high * factor
            rate_source += f" × mean 5G propensity {audience.mean_upgrade_propensity:.2f} / 0.5"
        rates = (
            assume("take_rate_low", low, rate_source),
            assume("take_rate_expected", mid, rate_source),
            assume("take_rate_high", high, rate_source),
        )
    monthly = offer_monthly_revenue_change
    monthly_source = "the offers' monthly revenue change"
    if campaign_type is CampaignType.RETENTION and audience.mean_arpu is not None:
        risk = audience.mean_churn_risk
        risk_source = "the audience's mean churn risk"
        if risk is None:
            risk, risk_source = ASSUMED_MONTHLY_CHURN, "no churn model scored the snapshot: assumed"
        kept = 1 - (1 - risk) ** BENEFIT_MONTHS
        monthly = audience.mean_arpu * kept + offer_monthly_revenue_change
        monthly_source = (
            f"mean ARPU ¥{audience.mean_arpu:.1f} × 12-month churn probability {kept:.2%} "
            f"({risk_source} {risk:.2%} a month; the revenue a save keeps) + the offers' change"
        )
    monthly = assume("incremental_monthly_revenue", monthly, monthly_source)
    months = assume("months", BENEFIT_MONTHS, "benefit window")
    offer_cost = assume("offer_cost_per_taker", offer_cost_per_taker, "the offers' cost")
    contact_cost = assume(
        "contact_cost",
        sum(CONTACT_COST[c] for c in channels),
        "per treated customer, all channels: "
        + ", ".join(f"{c.value} ¥{CONTACT_COST[c]}" for c in channels),
    )
    reached = treated * reach
    takers = tuple(reached * rate for rate in rates)
    costs = tuple(t * offer_cost + treated * contact_cost for t in takers)
    net = tuple(t * monthly * months - c for t, c in zip(takers, costs, strict=True))
    roi = tuple((n / c) if c else None for n, c in zip(net, costs, strict=True))
    return Estimate(
        treated=treated,
        reached=reached,
        takers=(takers[0], takers[1], takers[2]),
        net_revenue=(net[0], net[1], net[2]),
        costs=(costs[0], costs[1], costs[2]),
        roi=(roi[0], roi[1], roi[2]),
        assumptions=assumptions,
    )
