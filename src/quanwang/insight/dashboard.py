"""The customer value page (营销分析 → 客户价值) of a user's scope, read from the snapshot's
summary (`insight.summary`): a few rows added up instead of a scan of the wide table.

The scope is the user's grids, as everywhere (`services.insight_scope`). It is read from the
rows of the org units the user's grants start at, when those units still hold the grids they
held when the summary was built; otherwise (the tree has grown since) from the rows of the
scope's grids, which are exact whatever the tree. A snapshot built before summaries existed
gets its summary on the first read (one process builds it; the others use the wide table
meanwhile, as before).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.services.orgs import units_granting
from quanwang.data.customers import Scope
from quanwang.insight import services, summary
from quanwang.insight.choices import LifecycleStage, ValueTier
from quanwang.insight.kept_files import build_once
from quanwang.insight.services import TierReport, TierRow
from quanwang.insight.snapshots import Snapshot
from quanwang.insight.summary import Figures, Summary

LOCK = ".summary.lock"


@dataclass(frozen=True)
class Dashboard:
    report: TierReport
    histogram: list[tuple[str, int]]
    #: The grid table: every grid in scope, largest revenue first.
    grids: list[dict[str, Any]]
    risk: dict[str, Any] | None
    lifecycle: list[tuple[LifecycleStage, int]]
    funnel: list[tuple[str, int]]
    grid_map: dict[str, Any] | None
    #: Read from the snapshot's summary (False: computed from the wide table).
    precomputed: bool


def customer_value(*, user: Any, snapshot: Snapshot) -> Dashboard:
    """Everything the customer value page shows, within the user's scope."""
    scope = services.insight_scope(user)
    found = summary_of(snapshot)
    if found is None:
        return _from_wide_table(user=user, snapshot=snapshot, scope=scope)
    figures = scoped_figures(found, user=user, scope=scope)
    grids = _grid_rows(found, scope)
    risk = _risk(found, figures)
    return Dashboard(
        report=_tier_report(found, figures),
        histogram=[
            (label, figures.count(summary.switching_measure(band)))
            for band, label in enumerate(services.switching_band_labels())
        ],
        grids=grids,
        risk=risk,
        lifecycle=[(stage, figures.count(summary.stage_measure(stage))) for stage in LifecycleStage]
        if found.has.lifecycle
        else [],
        funnel=[
            (label, figures.count(summary.funnel_measure(step)))
            for step, label in enumerate(services.funnel_labels())
        ]
        if found.has.funnel
        else [],
        grid_map=services.grid_map(user=user, grids=grids, scope=scope) if risk else None,
        precomputed=True,
    )


def summary_of(snapshot: Snapshot) -> Summary | None:
    """The snapshot's summary; built now for a snapshot that has none (made before summaries
    existed, or of an older format), unless another process is building it (None: the wide
    table, as before)."""

    def existing() -> Summary | None:
        return summary.load(snapshot.path, run_id=snapshot.run_id)

    def build() -> Summary | None:
        data = summary.build(
            wide=snapshot.path / "wide", units=services.org_grids(), run_id=snapshot.run_id
        )
        summary.write(snapshot.path, data)
        return existing()

    return build_once(lock=snapshot.path / LOCK, existing=existing, build=build)


def covering_units(user: Any) -> list[str]:
    """The codes of the org units the user's insight grants start at: the units in reach
    whose parent is not (a county and one of its grids: the county alone)."""
    units = units_granting(
        user=user, resource=Resource.INSIGHT, action=Action.VIEW, only=Reach.SUBTREE
    )
    return list(units.exclude(parent__in=units.values("pk")).values_list("code", flat=True))


def scoped_figures(found: Summary, *, user: Any, scope: Scope) -> Figures:
    """The figures of the user's scope: the whole snapshot, their units' rows, or (the tree
    changed since the build) their grids' rows."""
    if scope.grids is None:
        return found.everyone
    by_units = found.unit_figures(covering_units(user), grids=scope.grids, gridless=scope.gridless)
    if by_units is not None:
        return by_units
    return found.grid_figures(scope.grids, gridless=scope.gridless)


def _grid_rows(found: Summary, scope: Scope) -> list[dict[str, Any]]:
    if scope.grids is None:
        keys = list(found.grids)
    else:
        keys = [g for g in set(scope.grids) if g in found.grids]
        if scope.gridless and summary.NO_GRID in found.grids:
            keys.append(summary.NO_GRID)
    rows = [dict(found.grids[key][0]) for key in keys]
    # As the wide table's query: largest revenue first, then by grid (no grid last).
    return sorted(
        rows,
        key=lambda r: (
            r["revenue"] is None,
            -(r["revenue"] or 0),
            r["grid_id"] is None,
            r["grid_id"] or "",
        ),
    )


def _tier_report(found: Summary, figures: Figures) -> TierReport:
    customers, revenue = figures.count("customers"), figures.get("revenue")
    rows = []
    for tier in ValueTier:
        n = figures.count(summary.tier_measure(tier, "customers"))
        tier_revenue = float(figures.get(summary.tier_measure(tier, "revenue")))
        with_clv = figures.count(summary.tier_measure(tier, "clv_n"))
        rows.append(
            TierRow(
                tier=tier,
                customers=n,
                revenue=tier_revenue,
                clv_12m=figures.get(summary.tier_measure(tier, "clv_sum")) / with_clv
                if found.has.clv and with_clv
                else None,
                customer_share=_share(n, customers),
                revenue_share=_share(tier_revenue, revenue),
            )
        )
    return TierReport(
        rows=rows,
        customers=customers,
        revenue=float(revenue),
        share_of_all_customers=_share(customers, found.everyone.count("customers")),
        share_of_all_revenue=_share(revenue, found.everyone.get("revenue")),
    )


# The most frequent churn reasons the page lists.
DRIVERS_SHOWN = 10


def _risk(found: Summary, figures: Figures) -> dict[str, Any] | None:
    if not found.has.risk:
        return None
    drivers = sorted(figures.drivers.items(), key=lambda item: (-item[1], item[0]))
    return {
        "bands": [
            (label, figures.count(summary.risk_measure(band)))
            for band, label in enumerate(services.risk_band_labels())
        ],
        "drivers": [(code, int(n)) for code, n in drivers[:DRIVERS_SHOWN]],
        "expected_leavers": float(figures.get("expected_leavers")),
    }


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0


def _from_wide_table(*, user: Any, snapshot: Snapshot, scope: Scope) -> Dashboard:
    """The page computed from the wide table, as before summaries existed."""
    risk = services.risk_report(user=user, snapshot=snapshot)
    grids = services.grid_report(user=user, snapshot=snapshot)
    return Dashboard(
        report=services.tier_report(user=user, snapshot=snapshot),
        histogram=services.switching_cost_histogram(user=user, snapshot=snapshot),
        grids=grids,
        risk=risk,
        lifecycle=services.lifecycle_report(user=user, snapshot=snapshot),
        funnel=services.upgrade_funnel(user=user, snapshot=snapshot),
        grid_map=services.grid_map(user=user, grids=grids, scope=scope) if risk else None,
        precomputed=False,
    )
