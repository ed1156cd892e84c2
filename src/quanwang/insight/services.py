"""Use cases of the insight app: running the pipeline, and reading snapshots within scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, JobKind, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.models import Job, OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.core.services.jobs import start_job
from quanwang.data.customers import Scope, customer_scope
from quanwang.insight.choices import Engine, ValueTier
from quanwang.insight.months import Month, MonthError
from quanwang.insight.snapshots import Snapshot, SnapshotNotFound, SnapshotStore


def start_pipeline(
    *,
    actor: Any,
    month: str,
    engine: Engine = Engine.DUCKDB,
    org_unit: OrgUnit | None,
    background: bool = True,
) -> Job:
    """Queue (or run) a pipeline job for one snapshot month."""
    if actor is not None and not has_grant(actor, resource=Resource.INSIGHT, action=Action.ADD):
        raise ServiceError(_("You may not build snapshots."))
    try:
        Month.parse(month)
    except MonthError as exc:
        raise ServiceError(str(exc), field="month") from exc
    return start_job(
        actor=actor,
        kind=JobKind.RUN_PIPELINE,
        org_unit=org_unit,
        params={"month": month, "engine": str(engine)},
        background=background,
    )


def insight_scope(user: Any) -> Scope:
    return customer_scope(user, Action.VIEW, Resource.INSIGHT)


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
    con = duckdb.connect()
    by_tier = {
        tier: (int(n), float(r or 0))
        for tier, n, r in con.execute(
            f"SELECT value_tier, count(*), sum(revenue_window) FROM {scoped} GROUP BY 1", params
        ).fetchall()
    }
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
    relation = duckdb.connect().execute(
        f"SELECT grid_id, count(*) AS customers, round(sum(revenue_window), 2) AS revenue, "
        f"count(*) FILTER (WHERE value_tier IN ('{ValueTier.KEY}', '{ValueTier.LARGE}')) "
        f"AS key_and_large, round(avg(switching_cost), 1) AS switching_cost "
        f"FROM {scoped} GROUP BY 1 ORDER BY revenue DESC NULLS LAST",
        params,
    )
    names = [d[0] for d in relation.description or []]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def switching_cost_histogram(*, user: Any, snapshot: Snapshot) -> list[tuple[str, int]]:
    scoped, params = _scoped(snapshot, insight_scope(user))
    counts = dict(
        duckdb.connect()
        .execute(
            f"SELECT least(floor(switching_cost / 10), 9)::INT AS band, count(*) "
            f"FROM {scoped} GROUP BY 1",
            params,
        )
        .fetchall()
    )
    return [(f"{b * 10}–{b * 10 + 10}", int(counts.get(b, 0))) for b in range(10)]


GONE, NEW = "gone", "new"


def tier_migration(*, user: Any, before: Snapshot, after: Snapshot) -> dict[tuple[str, str], int]:
    """Customers in scope by (tier before, tier after); `gone` and `new` for those in only one."""
    condition, params = insight_scope(user).sql("coalesce(b.grid_id, a.grid_id)")
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT coalesce(a.value_tier, '{GONE}'), coalesce(b.value_tier, '{NEW}'), "
            f"count(*) FROM {before.relation} a FULL JOIN {after.relation} b "
            f"USING (subscriber_id) WHERE {condition} GROUP BY ALL",
            params,
        )
        .fetchall()
    )
    return {(str(f), str(t)): int(n) for f, t, n in rows}


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0
