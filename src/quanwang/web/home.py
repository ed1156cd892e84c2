"""What the home page shows each user: their scope's key figures, the campaigns in flight,
early warnings and to-dos, and the pages their roles open.

The key figures are read from the newest snapshot's precomputed summary (`insight.summary`),
never from the warehouse: a few rows added up per request, kept in the cache for a minute
per user and scope. Campaign figures are live counts (an approval must leave the to-dos at
once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache

from quanwang.campaigns import todos as todo_services
from quanwang.campaigns import warnings as warning_services
from quanwang.campaigns.estimate import loses_money
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.services import visible
from quanwang.campaigns.warnings import WATCHED, ShownWarning
from quanwang.core.choices import Action, Resource
from quanwang.core.querysets import active_assignments, has_grant
from quanwang.insight import dashboard, services, summary
from quanwang.insight.choices import ValueTier
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from quanwang.insight.summary import Figures, Summary

#: Seconds a user's key figures are kept: a snapshot changes once a month, the org tree rarely.
FIGURES_SECONDS = 60
#: Months of churn rate shown as the trend, the newest included.
TREND_MONTHS = 6
#: Rows of each list on the home page; each list links to its full page.
SHOWN = 5


@dataclass(frozen=True)
class TierCount:
    tier: ValueTier
    customers: int


@dataclass(frozen=True)
class ChurnPoint:
    month: str
    rate: float


@dataclass(frozen=True)
class KeyFigures:
    """The scope's figures of the newest snapshot's month."""

    month: str
    customers: int
    #: The month's revenue in 元 (None: a snapshot built without it).
    revenue: float | None
    #: The expected churn rate: the mean churn risk (None: no churn model scored it).
    churn_rate: float | None
    #: The churn rate of the last months, oldest first, the newest month last.
    churn_trend: list[ChurnPoint] = field(default_factory=list)
    tiers: list[TierCount] = field(default_factory=list)

    @property
    def churn_change(self) -> float | None:
        """The churn rate's change since the month before (None: no earlier month)."""
        if len(self.churn_trend) < 2:
            return None
        return self.churn_trend[-1].rate - self.churn_trend[-2].rate


@dataclass(frozen=True)
class CampaignFigures:
    in_flight: int
    running: list[Campaign]
    warnings: list[ShownWarning]


@dataclass(frozen=True)
class ApprovalTodo:
    campaign: Campaign
    expects_loss: bool  # the approver sees the designer's loss warning before opening it


@dataclass(frozen=True)
class TodoFigures:
    approvals: list[ApprovalTodo]
    approvals_count: int
    reviews_count: int


def _churn_rate(figures: Figures) -> float | None:
    customers = figures.count("customers")
    if not customers or "expected_leavers" not in figures.values:
        return None
    return figures.get("expected_leavers") / customers


def _month_snapshots(snapshots: list[Snapshot]) -> list[Snapshot]:
    """The newest run of each month, newest month first."""
    seen: set[str] = set()
    chosen = []
    for snapshot in snapshots:  # newest first
        if snapshot.month not in seen:
            seen.add(snapshot.month)
            chosen.append(snapshot)
    return chosen


def _compute_figures(user: Any) -> KeyFigures | None:
    months = _month_snapshots(SnapshotStore().list())
    if not months:
        return None
    newest = months[0]
    found = dashboard.summary_of(newest)
    if found is None:  # being built by another request this moment
        return None
    scope = services.insight_scope(user)
    figures = dashboard.scoped_figures(found, user=user, scope=scope)
    trend: list[ChurnPoint] = []
    rate = _churn_rate(figures)
    if rate is not None:
        trend.append(ChurnPoint(newest.month, rate))
        for earlier in months[1:TREND_MONTHS]:
            # Only summaries already built: the home page never builds one for an old month.
            kept: Summary | None = summary.load(earlier.path, run_id=earlier.run_id)
            if kept is None:
                continue
            earlier_rate = _churn_rate(dashboard.scoped_figures(kept, user=user, scope=scope))
            if earlier_rate is not None:
                trend.append(ChurnPoint(earlier.month, earlier_rate))
    return KeyFigures(
        month=newest.month,
        customers=figures.count("customers"),
        revenue=figures.get("revenue_m1") if found.has.month_revenue else None,
        churn_rate=rate,
        churn_trend=sorted(trend, key=lambda p: p.month),
        tiers=[
            TierCount(tier, figures.count(summary.tier_measure(tier, "customers")))
            for tier in ValueTier
        ],
    )


def key_figures(*, user: Any) -> KeyFigures | None:
    """The user's key figures (None: they may not see the analysis, or no snapshot yet)."""
    if not has_grant(user, resource=Resource.INSIGHT, action=Action.VIEW):
        return None
    newest = SnapshotStore().latest()
    if newest is None:
        return None
    # The roles in force (the scope switcher's choice) decide the figures, not the login.
    scope = ",".join(str(a.pk) for a in active_assignments(user))
    key = f"quanwang:home:{user.pk}:{scope}:{newest.month}:{newest.run_id}"
    kept = cache.get(key)
    if isinstance(kept, KeyFigures):
        return kept
    computed = _compute_figures(user)
    if computed is not None:
        cache.set(key, computed, FIGURES_SECONDS)
    return computed


def campaign_figures(*, user: Any) -> CampaignFigures | None:
    if not has_grant(user, resource=Resource.CAMPAIGN, action=Action.VIEW):
        return None
    in_flight = visible(user).filter(state__in=WATCHED)
    return CampaignFigures(
        in_flight=in_flight.count(),
        running=list(in_flight.select_related("org_unit").order_by("ends_on", "pk")[:SHOWN]),
        warnings=warning_services.open_warnings(user=user, limit=SHOWN),
    )


def todo_figures(*, user: Any) -> TodoFigures | None:
    may_approve = has_grant(user, resource=Resource.CAMPAIGN, action=Action.APPROVE)
    may_review = has_grant(user, resource=Resource.OPT_OUT_REVIEW, action=Action.CHANGE)
    if not (may_approve or may_review):
        return None
    approvals = todo_services.approvals_waiting(user=user).select_related("org_unit")
    return TodoFigures(
        approvals=[
            ApprovalTodo(campaign=c, expects_loss=loses_money(c.estimate))
            for c in approvals[:SHOWN]
        ],
        approvals_count=approvals.count(),
        reviews_count=todo_services.reviews_waiting(user=user).count(),
    )
