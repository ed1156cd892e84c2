"""Post-campaign evaluation (事后评估): the treated group against the random control group.

Input is one row per audience member (a pyarrow Table):

    subscriber_id  string
    group          'treated' | 'control'                  (`Group`)
    responded      bool     null counts as no response
    revenue        float    revenue in the incremental window; null counts as 0
    value_tier     string   optional breakdown (the wide table's tier codes)
    org_unit       string   optional breakdown; `grid_id` is used when there is no org_unit
    channel        string   optional breakdown; null for the control group
    store_grade    string   optional breakdown: the grade of the store whose task list the
                            customer is on (a control customer: the store they would have
                            been dealt to); null: no store
    grid_type      string   optional breakdown: the type of the customer's grid
    contacted      bool     optional; without it every treated member counts as contacted

Statistics (`docs/campaigns-evaluation.md` has the formulas):
- response uplift p_t − p_c with Newcombe's hybrid score interval (his method 10: Wilson
  score intervals of each proportion, combined). It stays inside [−1, 1], needs no
  continuity fudge, and keeps its coverage when a group has no responders at all, where a
  Wald interval collapses to a point;
- revenue per head, treated minus control, with a Welch t interval (unequal variances:
  an offer changes the spread of revenue as well as its mean);
- incremental responders and revenue are the per-head differences scaled to the treated
  group's size; ROI = (incremental revenue − costs) / costs;
- breakdowns by tier, org unit, store grade and grid type compare treated and control
  inside the stratum (the control group is stratified by tier and grid; store grades are
  dealt to the control group as to the treated, campaigns.channel_strata). The control
  group is never contacted, so it has no channel: the channel breakdown compares each
  channel's treated members with the WHOLE control group.

Groups smaller than `min_group` get no interval (None, with `Caveat.TOO_FEW`), and an empty
or missing group gives no uplift at all, with a caveat that says why. A store-grade or
grid-type cell with fewer than `MIN_CELL` customers in either group is not compared at all
(`Caveat.TOO_FEW_TO_COMPARE`): its treated figures only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The intervals live apart; their names are this module's too, as callers know them.
from quanwang.campaigns.evaluation_intervals import (
    EvaluationError,
    Interval,
    newcombe_interval,
    welch_interval,
)
from quanwang.campaigns.evaluation_intervals import wilson_interval as wilson_interval
from quanwang.insight.choices import CampaignGroup

Array = npt.NDArray[np.float64]
DEFAULT_CONFIDENCE = 0.95
# Below this many members in either group an interval is more noise than information.
DEFAULT_MIN_GROUP = 30
# Below this many members in either group of a store-grade or grid-type cell, even the point
# uplift is noise (one taker more among 9 control customers moves it by 11 points).
MIN_CELL = 10
ORG_UNIT_COLUMNS = ("org_unit", "grid_id")


# The arms' codes are the insight pipeline's, which reads results back (`insight.history`).
Group = CampaignGroup


class Dimension(models.TextChoices):
    """The breakdowns of an evaluation."""

    TIER = "value_tier", _("Value tier")
    ORG_UNIT = "org_unit", _("Org unit")
    CHANNEL = "channel", _("Channel")
    STORE_GRADE = "store_grade", _("Store grade")
    GRID_TYPE = "grid_type", _("Grid type")


class Caveat(models.TextChoices):
    """Why a figure of a comparison is missing or to be read with care."""

    NO_TREATED = "no_treated", _("No treated customers: there is nothing to evaluate")
    NO_CONTROL = "no_control", _("No control group: the uplift cannot be measured")
    TOO_FEW = "too_few", _("Too few customers for a confidence interval")
    TOO_FEW_TO_COMPARE = (
        "too_few_to_compare",
        _("Too few customers in the cell to compare with the control group"),
    )
    NO_CONTROL_RESPONDERS = (
        "no_control_responders",
        _("No responders in the control group: the relative lift is undefined"),
    )
    NO_COSTS = "no_costs", _("No costs: the ROI is undefined")


class EstimatePosition(models.TextChoices):
    """Where the measured net incremental revenue falls against the revenue estimate."""

    BELOW = "below", _("Below the estimated range")
    WITHIN = "within", _("Within the estimated range")
    ABOVE = "above", _("Above the estimated range")


@dataclass(frozen=True)
class CampaignCosts:
    """Unit costs: the offer is paid for each taker (treated responder), contact for each
    treated member contacted, at the channel's cost where `contact_cost_by_channel` has it."""

    offer_cost_per_taker: float
    contact_cost_per_contact: float
    contact_cost_by_channel: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        units = [self.offer_cost_per_taker, self.contact_cost_per_contact]
        if min([*units, *self.contact_cost_by_channel.values()]) < 0:
            raise EvaluationError(gettext("costs cannot be negative"))


@dataclass(frozen=True)
class RevenueEstimate:
    """A low–expected–high range of one estimated quantity. Given to `evaluate`, it is net
    incremental revenue of the same definition as the measured one (revenue in the window,
    costs deducted); `estimate_check` uses it for the design estimate's takers, net revenue
    and ROI, each against its like."""

    low: float
    expected: float
    high: float

    def __post_init__(self) -> None:
        if not self.low <= self.expected <= self.high:
            raise EvaluationError(
                gettext("the revenue estimate must satisfy low ≤ expected ≤ high")
            )


@dataclass(frozen=True)
class GroupStats:
    size: int
    responders: int
    contacted: int
    revenue: float
    # Sum of squared deviations of revenue from the group mean (for the Welch interval).
    revenue_sq_dev: float
    # What contacting the group cost; None: `contacted` × the unit contact cost.
    contact_cost: float | None = None

    @property
    def response_rate(self) -> float | None:
        return self.responders / self.size if self.size else None

    @property
    def revenue_per_head(self) -> float | None:
        return self.revenue / self.size if self.size else None

    @property
    def revenue_variance(self) -> float | None:
        return self.revenue_sq_dev / (self.size - 1) if self.size > 1 else None


@dataclass(frozen=True)
class Costs:
    offer: float
    contact: float

    @property
    def total(self) -> float:
        return self.offer + self.contact


@dataclass(frozen=True)
class Comparison:
    """Treated against control, overall or inside one stratum of a breakdown."""

    key: str | None  # the stratum's code (tier, org unit, channel); None overall or unknown
    treated: GroupStats
    control: GroupStats
    costs: Costs
    uplift: float | None  # p_t − p_c, a difference of proportions
    uplift_ci: Interval | None
    relative_lift: float | None  # uplift / p_c
    incremental_responders: float | None  # uplift × treated size
    incremental_responders_ci: Interval | None
    revenue_per_head_difference: float | None
    revenue_per_head_difference_ci: Interval | None
    incremental_revenue: float | None  # revenue per head difference × treated size
    incremental_revenue_ci: Interval | None
    net_incremental_revenue: float | None  # incremental revenue − costs
    roi: float | None  # net incremental revenue / costs
    roi_ci: Interval | None
    caveats: tuple[Caveat, ...] = ()

    @property
    def significant(self) -> bool | None:
        """The response uplift's interval excludes zero; None without an interval."""
        return None if self.uplift_ci is None else not self.uplift_ci.contains(0.0)


@dataclass(frozen=True)
class EstimateComparison:
    estimate: RevenueEstimate
    actual: float  # the measured net incremental revenue
    position: EstimatePosition
    ratio_to_expected: float | None
    actual_ci: Interval | None

    @property
    def ci_overlaps_range(self) -> bool | None:
        if self.actual_ci is None:
            return None
        return self.actual_ci.low <= self.estimate.high and self.actual_ci.high >= self.estimate.low


@dataclass(frozen=True)
class Evaluation:
    overall: Comparison
    by_tier: list[Comparison] = field(default_factory=list)
    by_org_unit: list[Comparison] = field(default_factory=list)
    by_channel: list[Comparison] = field(default_factory=list)
    by_store_grade: list[Comparison] = field(default_factory=list)
    by_grid_type: list[Comparison] = field(default_factory=list)
    estimate: EstimateComparison | None = None
    org_unit_column: str | None = None
    confidence: float = DEFAULT_CONFIDENCE
    min_group: int = DEFAULT_MIN_GROUP

    def breakdown(self, dimension: Dimension) -> list[Comparison]:
        return {
            Dimension.TIER: self.by_tier,
            Dimension.ORG_UNIT: self.by_org_unit,
            Dimension.CHANNEL: self.by_channel,
            Dimension.STORE_GRADE: self.by_store_grade,
            Dimension.GRID_TYPE: self.by_grid_type,
        }[dimension]


# --- comparison ---------------------------------------------------------------------------


def compare(
    *,
    key: str | None,
    treated: GroupStats,
    control: GroupStats,
    unit_costs: CampaignCosts,
    confidence: float = DEFAULT_CONFIDENCE,
    min_group: int = DEFAULT_MIN_GROUP,
) -> Comparison:
    """All figures of treated against control, from the two groups' sums."""
    costs = Costs(
        offer=treated.responders * unit_costs.offer_cost_per_taker,
        contact=(
            treated.contact_cost
            if treated.contact_cost is not None
            else treated.contacted * unit_costs.contact_cost_per_contact
        ),
    )
    caveats: list[Caveat] = []
    if treated.size == 0:
        caveats.append(Caveat.NO_TREATED)
    if control.size == 0:
        caveats.append(Caveat.NO_CONTROL)
    if costs.total == 0:
        caveats.append(Caveat.NO_COSTS)
    if treated.size == 0 or control.size == 0:
        return _without_uplift(key, treated, control, costs, tuple(caveats))

    p_t, p_c = treated.responders / treated.size, control.responders / control.size
    mean_t, mean_c = treated.revenue / treated.size, control.revenue / control.size
    uplift = p_t - p_c
    per_head = mean_t - mean_c
    incremental_revenue = per_head * treated.size
    net = incremental_revenue - costs.total
    if control.responders == 0:
        caveats.append(Caveat.NO_CONTROL_RESPONDERS)
    uplift_ci = revenue_ci = None
    if min(treated.size, control.size) >= max(min_group, 2):
        uplift_ci = newcombe_interval(
            treated=(treated.responders, treated.size),
            control=(control.responders, control.size),
            confidence=confidence,
        )
        revenue_ci = welch_interval(treated=treated, control=control, confidence=confidence)
    else:
        caveats.append(Caveat.TOO_FEW)
    roi = net / costs.total if costs.total > 0 else None
    return Comparison(
        key=key,
        treated=treated,
        control=control,
        costs=costs,
        uplift=uplift,
        uplift_ci=uplift_ci,
        relative_lift=uplift / p_c if p_c > 0 else None,
        incremental_responders=uplift * treated.size,
        incremental_responders_ci=uplift_ci.scaled(treated.size) if uplift_ci else None,
        revenue_per_head_difference=per_head,
        revenue_per_head_difference_ci=revenue_ci,
        incremental_revenue=incremental_revenue,
        incremental_revenue_ci=revenue_ci.scaled(treated.size) if revenue_ci else None,
        net_incremental_revenue=net,
        roi=roi,
        roi_ci=(
            revenue_ci.scaled(treated.size / costs.total, -1.0)
            if revenue_ci and costs.total > 0
            else None
        ),
        caveats=tuple(caveats),
    )


def _without_uplift(
    key: str | None,
    treated: GroupStats,
    control: GroupStats,
    costs: Costs,
    caveats: tuple[Caveat, ...],
) -> Comparison:
    return Comparison(
        key=key,
        treated=treated,
        control=control,
        costs=costs,
        uplift=None,
        uplift_ci=None,
        relative_lift=None,
        incremental_responders=None,
        incremental_responders_ci=None,
        revenue_per_head_difference=None,
        revenue_per_head_difference_ci=None,
        incremental_revenue=None,
        incremental_revenue_ci=None,
        net_incremental_revenue=None,
        roi=None,
        roi_ci=None,
        caveats=caveats,
    )


def position_in(estimate: RevenueEstimate, actual: float) -> EstimatePosition:
    """Where a measured value falls against an estimated low–high range."""
    if actual < estimate.low:
        return EstimatePosition.BELOW
    if actual > estimate.high:
        return EstimatePosition.ABOVE
    return EstimatePosition.WITHIN


def compare_with_estimate(
    *, overall: Comparison, estimate: RevenueEstimate
) -> EstimateComparison | None:
    """The measured net incremental revenue against an estimate of the same quantity: order
    revenue in the window, net of costs. A campaign's design estimate counts something else
    (the revenue a taker keeps or adds over months): `estimate_check` compares with that."""
    actual = overall.net_incremental_revenue
    if actual is None:
        return None
    ci = overall.incremental_revenue_ci
    return EstimateComparison(
        estimate=estimate,
        actual=actual,
        position=position_in(estimate, actual),
        ratio_to_expected=actual / estimate.expected if estimate.expected else None,
        actual_ci=ci.scaled(1.0, -overall.costs.total) if ci else None,
    )


# --- the audience table -------------------------------------------------------------------


@dataclass(frozen=True)
class _Audience:
    treated: npt.NDArray[np.bool_]
    responded: npt.NDArray[np.bool_]
    contacted: npt.NDArray[np.bool_]
    revenue: Array
    contact_cost: Array


def _read(table: pa.Table, costs: CampaignCosts) -> _Audience:
    missing = [c for c in ("group", "responded", "revenue") if c not in table.column_names]
    if missing:
        raise EvaluationError(
            gettext("the audience table lacks the columns %(columns)s")
            % {"columns": ", ".join(missing)}
        )
    groups = table.column("group").cast(pa.string())
    # A null group is as unknown as a misspelt one: it must not fall into the control group.
    known = pc.fill_null(pc.is_in(groups, value_set=pa.array([g.value for g in Group])), False)
    if table.num_rows and not pc.all(known).as_py():
        odd = pc.unique(pc.filter(groups, pc.invert(known))).to_pylist()
        raise EvaluationError(
            gettext("unknown groups %(groups)s: expected 'treated' or 'control'") % {"groups": odd}
        )
    treated = pc.equal(groups, Group.TREATED.value).to_numpy(zero_copy_only=False)
    responded = pc.fill_null(table.column("responded").cast(pa.bool_()), False)
    revenue = pc.fill_null(table.column("revenue").cast(pa.float64()), 0.0)
    if "contacted" in table.column_names:
        contacted = pc.fill_null(table.column("contacted").cast(pa.bool_()), False)
        contacted_np = np.asarray(contacted.to_numpy(zero_copy_only=False), dtype=bool)
    else:
        contacted_np = np.ones(table.num_rows, dtype=bool)
    treated_np = np.asarray(treated, dtype=bool)
    contacted_np &= treated_np  # the control group is never contacted
    unit = np.full(table.num_rows, costs.contact_cost_per_contact)
    if costs.contact_cost_by_channel and "channel" in table.column_names:
        channels = table.column("channel").cast(pa.string())
        for channel, cost in costs.contact_cost_by_channel.items():
            on = pc.fill_null(pc.equal(channels, channel), False).to_numpy(zero_copy_only=False)
            unit[np.asarray(on, dtype=bool)] = cost
    return _Audience(
        treated=treated_np,
        responded=np.asarray(responded.to_numpy(zero_copy_only=False), dtype=bool),
        contacted=contacted_np,
        revenue=np.asarray(revenue.to_numpy(zero_copy_only=False), dtype=np.float64),
        contact_cost=np.where(contacted_np, unit, 0.0),
    )


def _group_stats(audience: _Audience, codes: npt.NDArray[np.intp], strata: int) -> list[GroupStats]:
    """GroupStats per stratum code (0..strata-1) of the rows selected by `codes` ≥ 0."""
    keep = codes >= 0
    codes, revenue = codes[keep], audience.revenue[keep]
    size = np.bincount(codes, minlength=strata)
    totals = np.bincount(codes, weights=revenue, minlength=strata)
    means = np.divide(totals, size, out=np.zeros(strata), where=size > 0)
    # Two passes: deviations from each stratum's mean, not sum of squares minus square of sum.
    sq_dev = np.bincount(codes, weights=(revenue - means[codes]) ** 2, minlength=strata)
    responders = np.bincount(codes, weights=audience.responded[keep], minlength=strata)
    contacted = np.bincount(codes, weights=audience.contacted[keep], minlength=strata)
    contact_cost = np.bincount(codes, weights=audience.contact_cost[keep], minlength=strata)
    return [
        GroupStats(
            size=int(size[i]),
            responders=round(float(responders[i])),
            contacted=round(float(contacted[i])),
            revenue=float(totals[i]),
            revenue_sq_dev=float(sq_dev[i]),
            contact_cost=float(contact_cost[i]),
        )
        for i in range(strata)
    ]


def _encode(column: pa.ChunkedArray) -> tuple[list[str | None], npt.NDArray[np.intp]]:
    """Distinct keys, sorted with null (None) last, and each row's index into them."""
    encoded = pc.dictionary_encode(column.cast(pa.string()).combine_chunks())
    dictionary: list[str] = encoded.dictionary.to_pylist()
    indices = np.asarray(
        pc.fill_null(encoded.indices, len(dictionary)).to_numpy(zero_copy_only=False),
        dtype=np.intp,
    )
    order = sorted(range(len(dictionary)), key=lambda i: dictionary[i])
    keys: list[str | None] = [dictionary[i] for i in order]
    remap = np.empty(len(dictionary) + 1, dtype=np.intp)
    remap[order] = np.arange(len(order))
    remap[len(dictionary)] = len(order)  # null rows
    if encoded.null_count:
        keys.append(None)
    return keys, remap[indices]


def _order(keys: Sequence[str | None], preferred: Sequence[str]) -> list[int]:
    """Indexes of keys: the preferred codes first in their order, then the rest as sorted."""
    rank = {code: i for i, code in enumerate(preferred)}
    return sorted(
        range(len(keys)),
        key=lambda i: (keys[i] is None, rank.get(keys[i] or "", len(rank)), keys[i] or ""),
    )


def _stratified(
    audience: _Audience,
    column: pa.ChunkedArray,
    *,
    preferred: Sequence[str],
    whole_control: bool,
    unit_costs: CampaignCosts,
    confidence: float,
    min_group: int,
) -> list[Comparison]:
    keys, codes = _encode(column)
    strata = len(keys)
    treated = _group_stats(audience, np.where(audience.treated, codes, -1), strata)
    if whole_control:
        control_all = _group_stats(audience, np.where(audience.treated, -1, 0), 1)[0]
        control = [control_all] * strata
    else:
        control = _group_stats(audience, np.where(audience.treated, -1, codes), strata)
    return [
        compare(
            key=keys[i],
            treated=treated[i],
            control=control[i],
            unit_costs=unit_costs,
            confidence=confidence,
            min_group=min_group,
        )
        for i in _order(keys, preferred)
        # The control group has no channel: a channel key held by no treated member is only
        # the control group's null and is no stratum.
        if not (whole_control and treated[i].size == 0)
    ]


def _compared(cells: list[Comparison]) -> list[Comparison]:
    """The cells with `MIN_CELL` customers or more in both groups as compared; the others
    with their treated figures only."""
    return [
        c
        if min(c.treated.size, c.control.size) >= MIN_CELL
        else _without_uplift(
            c.key,
            c.treated,
            c.control,
            c.costs,
            (*(k for k in c.caveats if k != Caveat.TOO_FEW), Caveat.TOO_FEW_TO_COMPARE),
        )
        for c in cells
    ]


def evaluate(
    *,
    audience: pa.Table,
    costs: CampaignCosts,
    estimate: RevenueEstimate | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    min_group: int = DEFAULT_MIN_GROUP,
    tier_order: Sequence[str] = ("key", "large", "regular", "small"),
    channel_order: Sequence[str] = (),
    grade_order: Sequence[str] = (),
    grid_type_order: Sequence[str] = (),
) -> Evaluation:
    """Evaluate a campaign from its audience table (see the module docstring for columns)."""
    if not 0 < confidence < 1:
        raise EvaluationError(gettext("confidence must be between 0 and 1"))
    data = _read(audience, costs)
    zeros = np.zeros(audience.num_rows, dtype=np.intp)
    treated = _group_stats(data, np.where(data.treated, zeros, -1), 1)[0]
    control = _group_stats(data, np.where(data.treated, -1, zeros), 1)[0]
    overall = compare(
        key=None,
        treated=treated,
        control=control,
        unit_costs=costs,
        confidence=confidence,
        min_group=min_group,
    )
    names = audience.column_names
    org_unit = next((c for c in ORG_UNIT_COLUMNS if c in names), None)

    def breakdown(name: str | None, preferred: Sequence[str], whole: bool) -> list[Comparison]:
        if name is None or name not in names:
            return []
        return _stratified(
            data,
            audience.column(name),
            preferred=preferred,
            whole_control=whole,
            unit_costs=costs,
            confidence=confidence,
            min_group=min_group,
        )

    return Evaluation(
        overall=overall,
        by_tier=breakdown(Dimension.TIER.value, tier_order, False),
        by_org_unit=breakdown(org_unit, (), False),
        by_channel=breakdown(Dimension.CHANNEL.value, channel_order, True),
        by_store_grade=_compared(breakdown(Dimension.STORE_GRADE.value, grade_order, False)),
        by_grid_type=_compared(breakdown(Dimension.GRID_TYPE.value, grid_type_order, False)),
        estimate=compare_with_estimate(overall=overall, estimate=estimate) if estimate else None,
        org_unit_column=org_unit,
        confidence=confidence,
        min_group=min_group,
    )
