"""Use cases of the insight app: running the pipeline, and reading snapshots within scope."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import shapely.wkt
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.errors import ShapelyError
from shapely.geometry import mapping

from quanwang.core.choices import Action, JobKind, OrgLevel, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.models import Job, OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.core.services.jobs import start_job
from quanwang.data.customers import Scope, customer_scope
from quanwang.data.warehouse import Warehouse, quote
from quanwang.insight import drift
from quanwang.insight.choices import Engine, LifecycleStage, ValueTier
from quanwang.insight.duck import cursor
from quanwang.insight.months import Month, MonthError
from quanwang.insight.snapshots import Snapshot, SnapshotNotFound, SnapshotStore
from quanwang.insight.summary import RISK_BANDS, STRONG_UPGRADE_PROPENSITY, UnitGrids


def start_pipeline(
    *,
    actor: Any,
    month: str,
    engine: Engine = Engine.DUCKDB,
    org_unit: OrgUnit | None,
    background: bool = True,
) -> Job:
    """Queue (or run) a pipeline job for one snapshot month."""
    params = {"month": month, "engine": str(engine)}
    return _start(actor, JobKind.RUN_PIPELINE, params, org_unit=org_unit, background=background)


def start_training(
    *, actor: Any, month: str, horizon: int = 1, org_unit: OrgUnit | None, background: bool = True
) -> Job:
    """Queue (or run) the training of a churn model on the months up to `month`."""
    params = {"month": month, "horizon": horizon}
    return _start(actor, JobKind.TRAIN_CHURN, params, org_unit=org_unit, background=background)


def _start(
    actor: Any, kind: JobKind, params: dict[str, Any], *, org_unit: OrgUnit | None, background: bool
) -> Job:
    """An insight job: for those who may build snapshots, on a month that reads as one."""
    if actor is not None and not has_grant(actor, resource=Resource.INSIGHT, action=Action.ADD):
        raise ServiceError(_("You may not build snapshots."))
    try:
        Month.parse(params["month"])
    except MonthError as exc:
        raise ServiceError(str(exc), field="month") from exc
    return start_job(
        actor=actor, kind=kind, org_unit=org_unit, params=params, background=background
    )


def insight_scope(user: Any) -> Scope:
    return customer_scope(user, Action.VIEW, Resource.INSIGHT)


def org_grids() -> dict[str, UnitGrids]:
    """Every org unit's grids, by unit code: what a snapshot's summary is kept by
    (`insight.summary`). A root unit also holds the customers with no grid, as the scope of its
    users does (`customer_scope`)."""
    units = list(OrgUnit.objects.values_list("code", "path", "level", "parent_id"))
    code_of = {path: code for code, path, _level, _parent in units}
    grids: dict[str, list[str]] = {code: [] for code, *_rest in units}
    for code, path, level, _parent in units:
        if level != OrgLevel.GRID:
            continue
        # Each unit on the grid's path ("/GD/GD-GZ/…/") holds it, the grid itself included.
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            holder = code_of.get("/" + "/".join(parts[:depth]) + "/")
            if holder is not None:
                grids[holder].append(code)
    return {
        code: UnitGrids(grids=tuple(sorted(grids[code])), gridless=parent is None)
        for code, _path, _level, parent in units
    }


def find_snapshot(*, month: str | None = None, run_id: str | None = None) -> Snapshot | None:
    """The snapshot named, or the newest complete one when none is named."""
    store = SnapshotStore()
    if month and run_id:
        try:
            return store.get(month, run_id)
        except SnapshotNotFound:
            return None
    return store.latest()


@dataclass(frozen=True)
class TierRow:
    tier: ValueTier
    customers: int
    revenue: float
    clv_12m: float | None  # mean 12-month CLV, where the snapshot has one
    customer_share: float  # of the customers in scope
    revenue_share: float  # of the revenue in scope


@dataclass(frozen=True)
class TierReport:
    rows: list[TierRow]
    customers: int
    revenue: float
    share_of_all_customers: float  # the scope's share of the whole snapshot
    share_of_all_revenue: float


def _scoped(snapshot: Snapshot, scope: Scope) -> tuple[str, list[Any]]:
    condition, params = scope.sql("grid_id")
    return f"(SELECT * FROM {snapshot.relation} WHERE {condition})", params


def tier_report(*, user: Any, snapshot: Snapshot) -> TierReport:
    """Customers and revenue by value tier in the user's scope, and the scope's share of all."""
    scoped, params = _scoped(snapshot, insight_scope(user))
    con = cursor()
    clv = "avg(clv_12m)" if "clv_12m" in snapshot.columns else "NULL"
    rows_by_tier = con.execute(
        f"SELECT value_tier, count(*), sum(revenue_window), {clv} FROM {scoped} GROUP BY 1",
        params,
    ).fetchall()
    by_tier = {tier: (int(n), float(r or 0)) for tier, n, r, _clv in rows_by_tier}
    clv_by_tier = {tier: c for tier, _n, _r, c in rows_by_tier}
    everyone = con.execute(
        f"SELECT count(*), coalesce(sum(revenue_window), 0) FROM {snapshot.relation}"
    ).fetchall()[0]
    customers = sum(n for n, _r in by_tier.values())
    revenue = sum(r for _n, r in by_tier.values())
    rows = [
        TierRow(
            tier=tier,
            customers=by_tier.get(tier, (0, 0.0))[0],
            revenue=by_tier.get(tier, (0, 0.0))[1],
            clv_12m=None if clv_by_tier.get(tier) is None else float(clv_by_tier[tier]),
            customer_share=_share(by_tier.get(tier, (0, 0.0))[0], customers),
            revenue_share=_share(by_tier.get(tier, (0, 0.0))[1], revenue),
        )
        for tier in ValueTier
    ]
    return TierReport(
        rows=rows,
        customers=customers,
        revenue=revenue,
        share_of_all_customers=_share(customers, int(everyone[0])),
        share_of_all_revenue=_share(revenue, float(everyone[1])),
    )


def grid_report(*, user: Any, snapshot: Snapshot) -> list[dict[str, Any]]:
    """Per grid in scope: customers, revenue, key and large customers, mean switching cost."""
    scoped, params = _scoped(snapshot, insight_scope(user))
    risk = "round(100 * avg(churn_risk), 2)" if "churn_risk" in snapshot.columns else "NULL"
    relation = cursor().execute(
        f"SELECT grid_id, count(*) AS customers, round(sum(revenue_window), 2) AS revenue, "
        f"count(*) FILTER (WHERE value_tier IN ('{ValueTier.KEY}', '{ValueTier.LARGE}')) "
        f"AS key_and_large, round(avg(switching_cost), 1) AS switching_cost, "
        f"{risk} AS churn_risk_percent "
        f"FROM {scoped} GROUP BY 1 ORDER BY revenue DESC NULLS LAST, grid_id NULLS LAST",
        params,
    )
    names = [d[0] for d in relation.description or []]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def switching_cost_histogram(*, user: Any, snapshot: Snapshot) -> list[tuple[str, int]]:
    scoped, params = _scoped(snapshot, insight_scope(user))
    counts = dict(
        cursor()
        .execute(
            f"SELECT least(floor(switching_cost / 10), 9)::INT AS band, count(*) "
            f"FROM {scoped} GROUP BY 1",
            params,
        )
        .fetchall()
    )
    return [(label, int(counts.get(b, 0))) for b, label in enumerate(switching_band_labels())]


def switching_band_labels() -> list[str]:
    return [f"{b * 10}–{b * 10 + 10}" for b in range(10)]


class Migration(models.TextChoices):
    """Where a customer of the tier migration came from or went, besides a value tier."""

    NEW = "new", gettext_lazy("New")  # in the later snapshot only: joined
    MOVED_IN = "moved_in", gettext_lazy("Moved into your scope")  # from a grid outside it
    LEFT = "left", gettext_lazy("Left")  # in the earlier snapshot only: left the network
    MOVED_OUT = "moved_out", gettext_lazy("Moved out of your scope")  # to a grid outside it


@dataclass(frozen=True)
class TierMigration:
    """Customers of the user's scope by where they were in `before` (`sources`: a tier, new,
    moved in) and in `after` (`targets`: a tier, left, moved out). Every customer in scope in
    either snapshot is in exactly one cell: a tier's row adds up to its customers before, a
    tier's column to its customers after."""

    sources: list[str]
    targets: list[str]
    cells: dict[tuple[str, str], int]

    def rows(self) -> list[tuple[str, list[int]]]:
        return [(s, [self.cells.get((s, t), 0) for t in self.targets]) for s in self.sources]


def tier_migration(*, user: Any, before: Snapshot, after: Snapshot) -> TierMigration:
    """How the customers of the user's scope moved between value tiers from `before` to
    `after`. Each snapshot is scoped by its own grids, so a customer who changed grid across
    the scope's edge has moved in or out, not joined or left."""
    scope = insight_scope(user)
    mine, params = scope.sql("grid_id")
    rows = (
        cursor()
        .execute(
            f"WITH b AS (SELECT subscriber_id, value_tier, coalesce({mine}, false) AS mine "
            f"FROM {before.relation}), "
            f"a AS (SELECT subscriber_id, value_tier, coalesce({mine}, false) AS mine "
            f"FROM {after.relation}) "
            f"SELECT CASE WHEN b.subscriber_id IS NULL THEN '{Migration.NEW}' "
            f"WHEN NOT b.mine THEN '{Migration.MOVED_IN}' ELSE b.value_tier END, "
            f"CASE WHEN a.subscriber_id IS NULL THEN '{Migration.LEFT}' "
            f"WHEN NOT a.mine THEN '{Migration.MOVED_OUT}' ELSE a.value_tier END, count(*) "
            "FROM b FULL JOIN a USING (subscriber_id) "
            "WHERE coalesce(b.mine, false) OR coalesce(a.mine, false) GROUP BY ALL",
            params * 2,
        )
        .fetchall()
    )
    # Moving across the scope's edge needs an edge: the whole operator has none.
    moves = scope.grids is not None
    tiers = [str(t) for t in ValueTier]
    return TierMigration(
        sources=[*tiers, *([Migration.MOVED_IN] if moves else []), Migration.NEW],
        targets=[*tiers, *([Migration.MOVED_OUT] if moves else []), Migration.LEFT],
        cells={(str(f), str(t)): int(n) for f, t, n in rows},
    )


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0


def risk_band_labels() -> list[str]:
    edges = [0.0, *RISK_BANDS]
    labels = [f"{100 * lo:g}–{100 * hi:g}%" for lo, hi in zip(edges, RISK_BANDS, strict=False)]
    return [*labels, f"≥ {100 * RISK_BANDS[-1]:g}%"]


def risk_report(*, user: Any, snapshot: Snapshot) -> dict[str, Any] | None:
    """Churn-risk bands and the most frequent reasons in scope; None before any model scored."""
    if "churn_risk" not in snapshot.columns:
        return None
    scoped, params = _scoped(snapshot, insight_scope(user))
    con = cursor()
    cases = " ".join(
        f"WHEN churn_risk < {upper} THEN {index}" for index, upper in enumerate(RISK_BANDS)
    )
    bands = dict(
        con.execute(
            f"SELECT CASE {cases} ELSE {len(RISK_BANDS)} END, count(*) FROM {scoped} GROUP BY 1",
            params,
        ).fetchall()
    )
    labels = risk_band_labels()
    drivers = con.execute(
        f"SELECT reason, count(*) AS n FROM (SELECT unnest(string_split(churn_reasons, ',')) "
        f"AS reason FROM {scoped} WHERE churn_reasons IS NOT NULL) GROUP BY 1 "
        "ORDER BY n DESC, reason LIMIT 10",
        params,
    ).fetchall()
    expected = con.execute(f"SELECT coalesce(sum(churn_risk), 0) FROM {scoped}", params).fetchall()
    return {
        "bands": list(zip(labels, [int(bands.get(i, 0)) for i in range(len(labels))], strict=True)),
        "drivers": [(str(code), int(n)) for code, n in drivers],
        "expected_leavers": float(expected[0][0]),
    }


# The columns of the customer 360's insight panel. Reading these rather than the wide table's
# ~90 is what keeps the lookup of one customer fast: the Parquet file has a row group per
# million rows, so a lookup reads whole column chunks (0.4 s for every column at 1M, 0.07 s for
# these).
PANEL_COLUMNS = (
    "subscriber_id", "grid_id", "value_tier", "revenue_window", "clv_12m", "switching_cost",
    "lifecycle_stage", "upgrade_5g_propensity", "upgrade_5g_rule", "churn_risk",
    "churn_reasons", "churn_reasons_zh", "churn_reasons_en",
)  # fmt: skip


def customer_insight(*, user: Any, subscriber_id: str) -> dict[str, Any] | None:
    """One customer's tier, scores and reasons (`PANEL_COLUMNS`) from the newest snapshot, if
    in scope."""
    snapshot = find_snapshot()
    if snapshot is None:
        return None
    condition, params = insight_scope(user).sql("grid_id")
    columns = ", ".join(quote(c) for c in PANEL_COLUMNS if c in snapshot.columns)
    relation = cursor().execute(
        f"SELECT {columns} FROM {snapshot.relation} WHERE subscriber_id = ? AND {condition}",
        [subscriber_id, *params],
    )
    names = [d[0] for d in relation.description or []]
    row = relation.fetchone()
    if row is None:
        return None
    return dict(zip(names, row, strict=True)) | {"snapshot": snapshot}


POOL_PAGE = 100


def offnet_report(*, user: Any, snapshot: Snapshot) -> dict[str, Any]:
    """The win-over pool of the user's scope (by the referrer's grid): per operator, and the
    strongest targets with their referrer. Numbers are shown by a short hash prefix only."""
    condition, params = insight_scope(user).sql("referrer_grid_id")
    scoped = f"(SELECT * FROM {snapshot.offnet_pool} WHERE {condition})"
    con = cursor()
    by_operator = con.execute(
        f"SELECT peer_operator, count(*), sum(our_ties), round(sum(minutes), 0) FROM {scoped} "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        params,
    ).fetchall()
    return {
        "by_operator": [
            {"operator": op, "numbers": int(n), "ties": int(t), "minutes": float(m or 0)}
            for op, n, t, m in by_operator
        ],
        "targets": offnet_targets(user=user, snapshot=snapshot, limit=POOL_PAGE),
    }


# The most rows one export hands out: a target list, not a copy of the pool.
POOL_EXPORT_LIMIT = 100_000


def offnet_targets(*, user: Any, snapshot: Snapshot, limit: int) -> list[dict[str, Any]]:
    """The strongest targets of the user's pool (by the referrer's grid), strongest first."""
    condition, params = insight_scope(user).sql("referrer_grid_id")
    relation = cursor().execute(
        f"SELECT left(peer_hash, 10) AS target, peer_operator, our_ties, calls, "
        f"round(minutes, 1) AS minutes, referrer_id, referrer_grid_id, round(tie_strength, 2) "
        f"AS tie_strength FROM {snapshot.offnet_pool} WHERE {condition} "
        f"ORDER BY pool_rank LIMIT {int(limit)}",
        params,
    )
    names = [d[0] for d in relation.description or []]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def feature_drift(*, user: Any, before: Snapshot, after: Snapshot) -> list[tuple[str, float]]:
    """Population stability index of each numeric column in scope, largest first (the first
    `drift.DRIFT_SHOWN`).

    Bins are the deciles of the earlier snapshot; PSI = Σ (a − b) · ln(a / b) over the bins'
    shares (each at least 0.0001). Above 0.25 a feature has moved a lot. `insight.drift` has
    the details, and works out many scopes at once for the kept comparisons.
    """
    scope = drift.scope_grids(insight_scope(user))
    return drift.between(before, after, [scope])[0]


def lifecycle_report(*, user: Any, snapshot: Snapshot) -> list[tuple[LifecycleStage, int]]:
    """Customers in scope by lifecycle stage; empty for snapshots built before stages."""
    if "lifecycle_stage" not in snapshot.columns:
        return []
    scoped, params = _scoped(snapshot, insight_scope(user))
    counts = dict(
        cursor()
        .execute(f"SELECT lifecycle_stage, count(*) FROM {scoped} GROUP BY 1", params)
        .fetchall()
    )
    return [(stage, int(counts.get(stage, 0))) for stage in LifecycleStage]


def upgrade_funnel(*, user: Any, snapshot: Snapshot) -> list[tuple[str, int]]:
    """The 5G 迁转 target funnel in scope, widest first; empty before the propensity exists."""
    if "upgrade_5g_propensity" not in snapshot.columns:
        return []
    scoped, params = _scoped(snapshot, insight_scope(user))
    strong = f"upgrade_5g_rule AND upgrade_5g_propensity >= {STRONG_UPGRADE_PROPENSITY}"
    row = (
        cursor()
        .execute(
            f"SELECT count(*), count(*) FILTER (WHERE device_5g), "
            f"count(*) FILTER (WHERE upgrade_5g_rule), count(*) FILTER (WHERE {strong}), "
            f"count(*) FILTER (WHERE {strong} AND NOT do_not_disturb) "
            f"FROM {scoped} WHERE NOT plan_5g AND NOT is_broadband_line",
            params,
        )
        .fetchall()[0]
    )
    return [(label, int(n)) for label, n in zip(funnel_labels(), row, strict=True)]


def funnel_labels() -> list[str]:
    return [
        _("Mobile customers not on a 5G plan"),
        _("With a 5G phone"),
        _("Meeting the upgrade rule"),
        _("Strong look-alike propensity"),
        _("Open to marketing (not do-not-disturb)"),
    ]


def grid_map(
    *, user: Any, grids: list[dict[str, Any]], scope: Scope | None = None
) -> dict[str, Any] | None:
    """GeoJSON of the grids in scope with their figures from `grid_report`, for the risk map;
    None when no grid in scope has a boundary."""
    chosen = scope or insight_scope(user)
    allowed = None if chosen.grids is None else set(chosen.grids)
    by_grid = {row["grid_id"]: row for row in grids}
    features = []
    for grid_id, name, geometry in _boundaries():
        if allowed is not None and grid_id not in allowed:
            continue
        figures = by_grid.get(grid_id, {})
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "name": grid_id,
                    "label": name,
                    "customers": figures.get("customers", 0),
                    "churn_risk_percent": figures.get("churn_risk_percent"),
                },
            }
        )
    if not features:
        return None
    return {"type": "FeatureCollection", "features": features}


# The grids' parsed boundaries, kept per process for the current version of the grids table:
# parsing every grid's WKT on every page view cost more than the rest of the page.
_boundaries_kept: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
_boundaries_lock = threading.Lock()


def _boundaries() -> list[tuple[str, str, dict[str, Any]]]:
    """(grid code, name, GeoJSON geometry) of every grid with a boundary that parses, by code."""
    store = Warehouse()
    key = str(store.current_file("grids") or "")
    with _boundaries_lock:
        kept = _boundaries_kept.get(key)
    if kept is not None:
        return kept
    rows = (
        cursor()
        .execute(
            f"SELECT grid_id, name, boundary_wkt FROM {store.relation('grids')} "
            "WHERE boundary_wkt IS NOT NULL ORDER BY 1"
        )
        .fetchall()
    )
    parsed = []
    for grid_id, name, wkt in rows:
        try:
            shape = shapely.wkt.loads(wkt)
        except ShapelyError:
            continue  # a boundary that does not parse is left off the map, not the table
        parsed.append((str(grid_id), str(name), dict(mapping(shape))))
    with _boundaries_lock:
        _boundaries_kept.clear()  # only the current version is read
        _boundaries_kept[key] = parsed
    return parsed
