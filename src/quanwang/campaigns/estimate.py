"""Revenue estimate (收益测算): takers × incremental monthly revenue × months − costs, as a range.

Every assumption is shown with where its default came from, and can be overridden. Where the
snapshot holds a model's output for the audience (churn risk, 5G propensity), the defaults use
it; otherwise they are the campaign type's defaults below. A campaign targeted by predicted
uplift takes its incremental takers from the model instead: mean predicted uplift × treated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
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


class Unit(StrEnum):
    """How an assumption's value reads: a share as a percentage, money in 元, months."""

    SHARE = "share"
    YUAN = "yuan"
    MONTHS = "months"


class Basis(StrEnum):
    """Where an assumption's default came from; the console says it in words
    (`estimate_text`), with the facts of the assumption's `detail`."""

    CHANNEL_DEFAULT = "channel_default"  # the channels' reach or cost per contact
    TYPE_DEFAULT = "type_default"  # the campaign type's take rates
    TYPE_DEFAULT_BY_PROPENSITY = "type_default_by_propensity"  # … × the segment's 5G propensity
    PREVIOUS_CAMPAIGN = "previous_campaign"  # the last evaluated campaign of the same type
    SEGMENT_MEAN = "segment_mean"  # the segment's customers' 3-month mean (ARPU)
    CHURN_MODEL = "churn_model"  # the churn model's mean risk over the segment
    ASSUMED = "assumed"  # no data: the industry's typical value
    OFFERS = "offers"  # the chosen offers' terms
    RETAINED_REVENUE = "retained_revenue"  # ARPU × churn probability + the offers' change
    BENEFIT_WINDOW = "benefit_window"
    UPLIFT_MODEL = "uplift_model"  # the uplift model's mean prediction
    UPLIFT_RANGE = "uplift_range"  # expected × the default range's relative width
    OVERRIDE = "override"  # typed in by a user


UNITS = {
    "reach": Unit.SHARE,
    "take_rate_low": Unit.SHARE,
    "take_rate_expected": Unit.SHARE,
    "take_rate_high": Unit.SHARE,
    "uplift_low": Unit.SHARE,
    "uplift_expected": Unit.SHARE,
    "uplift_high": Unit.SHARE,
    "mean_arpu": Unit.YUAN,
    "monthly_churn_risk": Unit.SHARE,
    "incremental_monthly_revenue": Unit.YUAN,
    "months": Unit.MONTHS,
    "offer_cost_per_taker": Unit.YUAN,
    "contact_cost": Unit.YUAN,
}
# The assumptions typed and shown as percentages (the form divides by 100).
SHARES = frozenset(name for name, unit in UNITS.items() if unit is Unit.SHARE)


@dataclass(frozen=True)
class Assumption:
    name: str
    value: float
    source: str  # in English words, for exports and logs; the console words it from `basis`
    basis: str = ""
    # The facts the console's words name: channels, campaign type, a campaign's ID, the default
    # an override replaced.
    detail: dict[str, Any] = field(default_factory=dict)


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
    targeted: int = 0
    source_campaign: int | None = None


@dataclass(frozen=True)
class PreviousResult:
    """What the last evaluated campaign of the same type measured: the share of its treated
    customers who were contacted that took the offer."""

    campaign_id: int
    take_rate: float
    contacted: int


def expected_net(estimate: dict[str, Any] | None) -> float | None:
    """The expected (middle) net revenue of a stored estimate; None where there is none."""
    net = (estimate or {}).get("net_revenue") or []
    return float(net[1]) if len(net) == 3 and net[1] is not None else None


def loses_money(estimate: dict[str, Any] | None) -> bool:
    """Whether a stored estimate expects the campaign to lose money."""
    net = expected_net(estimate)
    return net is not None and net < 0


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
    previous: PreviousResult | None = None,
) -> Estimate:
    """The range of net revenue, with the assumptions behind it. With `uplift`, incremental
    takers are treated × predicted uplift (low / expected / high), in place of reach × take
    rate: the source campaign measured its response on everyone treated, reached or not.
    Without it, `previous` (the last evaluated campaign of the type) gives the take rates in
    place of the type's defaults."""
    given = overrides or {}
    assumptions: list[Assumption] = []

    def assume(name: str, default: float, source: str, basis: Basis, **detail: Any) -> float:
        if name in given:
            value = float(given[name])
            assumptions.append(
                Assumption(name, value, "override", Basis.OVERRIDE, {"default": default})
            )
            return value
        assumptions.append(Assumption(name, float(default), source, basis, detail))
        return float(default)

    kind = campaign_type.value
    treated = round(audience.customers * (1 - control_share))
    low, mid, high = TAKE_RATES[campaign_type]
    if uplift is not None:
        reach = 1.0  # already inside the measured uplift
        # The range keeps the relative width of the type's default take-rate range.
        widths = (low / mid, high / mid) if uplift.mean >= 0 else (high / mid, low / mid)

        def width_source(width: float) -> str:
            return f"expected × {width:.2f}, the relative width of the default range for {kind}"

        model = {"targeted": uplift.targeted, "campaign": uplift.source_campaign}
        rates = (
            assume(
                "uplift_low", uplift.mean * widths[0], width_source(widths[0]),
                Basis.UPLIFT_RANGE, width=widths[0], type=kind,
            ),
            assume("uplift_expected", uplift.mean, uplift.source, Basis.UPLIFT_MODEL, **model),
            assume(
                "uplift_high", uplift.mean * widths[1], width_source(widths[1]),
                Basis.UPLIFT_RANGE, width=widths[1], type=kind,
            ),
        )  # fmt: skip
    else:
        reach = assume(
            "reach",
            max((REACH[c] for c in channels), default=0.0),
            "best channel's reach: " + ", ".join(f"{c.value} {REACH[c]:.0%}" for c in channels),
            Basis.CHANNEL_DEFAULT,
            channels={c.value: REACH[c] for c in channels},
        )
        rate_source = f"default for {kind}"
        rate_basis = Basis.TYPE_DEFAULT
        rate_detail: dict[str, Any] = {"type": kind}
        if previous is not None and previous.take_rate > 0:
            # Measured beats assumed: the type's range, moved to centre on what the last
            # campaign of the type saw among the customers it reached.
            factor = previous.take_rate / mid
            low, mid, high = low * factor, previous.take_rate, high * factor
            rate_source = (
                f"campaign #{previous.campaign_id}'s evaluation: {previous.take_rate:.2%} of "
                f"{previous.contacted} contacted took it"
            )
            rate_basis = Basis.PREVIOUS_CAMPAIGN
            rate_detail = {
                "type": kind,
                "campaign": previous.campaign_id,
                "rate": previous.take_rate,
                "contacted": previous.contacted,
            }
        elif (
            campaign_type is CampaignType.MIGRATE_5G
            and audience.mean_upgrade_propensity is not None
        ):
            # The look-alike's mean propensity scales the default: an audience that resembles
            # 5G customers more is likelier to move.
            factor = audience.mean_upgrade_propensity / 0.5
            low, mid, high = low * factor, mid * factor, high * factor
            rate_source += f" × mean 5G propensity {audience.mean_upgrade_propensity:.2f} / 0.5"
            rate_basis = Basis.TYPE_DEFAULT_BY_PROPENSITY
            rate_detail = {"type": kind, "propensity": audience.mean_upgrade_propensity}
        rates = (
            assume("take_rate_low", low, rate_source, rate_basis, **rate_detail),
            assume("take_rate_expected", mid, rate_source, rate_basis, **rate_detail),
            assume("take_rate_high", high, rate_source, rate_basis, **rate_detail),
        )
    change = offer_monthly_revenue_change
    monthly_default, monthly_source = change, "the offers' monthly revenue change"
    monthly_basis = Basis.OFFERS
    monthly_detail: dict[str, Any] = {}
    if campaign_type is CampaignType.RETENTION and audience.mean_arpu is not None:
        # A save keeps the customer's bill: the segment's ARPU, times the chance they would
        # have left within the benefit window.
        arpu = assume(
            "mean_arpu", audience.mean_arpu, "the segment's mean ARPU over 3 months",
            Basis.SEGMENT_MEAN,
        )  # fmt: skip
        if audience.mean_churn_risk is not None:
            risk = assume(
                "monthly_churn_risk", audience.mean_churn_risk,
                "the audience's mean churn risk", Basis.CHURN_MODEL,
            )  # fmt: skip
        else:
            risk = assume(
                "monthly_churn_risk", ASSUMED_MONTHLY_CHURN,
                "no churn model scored the snapshot: assumed", Basis.ASSUMED,
            )  # fmt: skip
        kept = 1 - (1 - risk) ** BENEFIT_MONTHS
        monthly_default = arpu * kept + change
        monthly_source = (
            f"mean ARPU ¥{arpu:.1f} × 12-month churn probability {kept:.2%} "
            f"({risk:.2%} a month; the revenue a save keeps) + the offers' change"
        )
        monthly_basis, monthly_detail = Basis.RETAINED_REVENUE, {"kept": kept, "change": change}
    monthly = assume(
        "incremental_monthly_revenue", monthly_default, monthly_source, monthly_basis,
        **monthly_detail,
    )  # fmt: skip
    months = assume("months", BENEFIT_MONTHS, "benefit window", Basis.BENEFIT_WINDOW)
    offer_cost = assume(
        "offer_cost_per_taker", offer_cost_per_taker, "the offers' cost", Basis.OFFERS
    )
    contact_cost = assume(
        "contact_cost",
        sum(CONTACT_COST[c] for c in channels),
        "per treated customer, all channels: "
        + ", ".join(f"{c.value} ¥{CONTACT_COST[c]}" for c in channels),
        Basis.CHANNEL_DEFAULT,
        channels={c.value: CONTACT_COST[c] for c in channels},
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
