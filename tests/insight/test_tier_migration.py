"""快照对比's tier migration: every customer of either snapshot in the user's scope is in exactly
one cell, with those who joined, left, or moved across the scope's edge counted as such."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.insight.choices import ValueTier
from quanwang.insight.pipeline import run_pipeline
from quanwang.insight.services import Migration, TierMigration, insight_scope, tier_migration
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.insight.conftest import PLANS, subscriber, usage_rows

TIERS = [str(t) for t in ValueTier]


def _snapshot(directory: Path, month: str, customers: dict[str, tuple[str | None, float]]) -> Any:
    """A snapshot of `month` built by the pipeline from customers (ID → grid, ARPU)."""
    directory.mkdir()
    files = factories.canonical_files(
        directory,
        plans=PLANS,
        subscribers=[
            subscriber(sid, grid_id=grid, join_date=dt.date(2023, 1, 1))
            for sid, (grid, _arpu) in customers.items()
        ],
        monthly_usage=[
            row for sid, (_g, arpu) in customers.items() for row in usage_rows(sid, {month: arpu})
        ],
    )
    return run_pipeline(month=month, files=files)


def _scoped_tiers(snapshot: Any, user: Any) -> Counter[str]:
    """The snapshot's customers in the user's scope by tier, read straight from its file."""
    condition, params = insight_scope(user).sql("grid_id")
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT value_tier, count(*) FROM {snapshot.relation} WHERE {condition} GROUP BY 1",
            params,
        )
        .fetchall()
    )
    return Counter({str(tier): int(n) for tier, n in rows})


def _row_sums(migration: TierMigration) -> Counter[str]:
    return Counter({source: sum(cells) for source, cells in migration.rows()})


def _column_sums(migration: TierMigration) -> Counter[str]:
    sums: Counter[str] = Counter()
    for (_source, target), n in migration.cells.items():
        sums[target] += n
    return sums


def _only_tiers(counts: Counter[str]) -> Counter[str]:
    return Counter({k: n for k, n in counts.items() if k in TIERS and n})


@pytest.fixture
def snapshots(tree: factories.Tree, tmp_path: Path) -> tuple[Any, Any]:
    """January and February of an operator with grids A and B and one customer with none.

    From January to February: A4 left the network, A5 and B3 joined, M1 moved from grid A to
    grid B and I1 from grid B to grid A; the others stayed where they were."""
    a, b = tree.grid_a.code, tree.grid_b.code
    stayers: dict[str, tuple[str | None, float]] = {
        "A1": (a, 300.0),
        "A2": (a, 120.0),
        "A3": (a, 10.0),
        "B1": (b, 200.0),
        "B2": (b, 0.0),
        "Z1": (None, 50.0),
    }
    january = stayers | {"A4": (a, 80.0), "M1": (a, 90.0), "I1": (b, 60.0)}
    february = stayers | {"A5": (a, 70.0), "B3": (b, 40.0), "M1": (b, 95.0), "I1": (a, 65.0)}
    return (
        _snapshot(tmp_path / "january", "2024-01", january),
        _snapshot(tmp_path / "february", "2024-02", february),
    )


def test_a_grid_managers_migration_accounts_for_everyone_who_joined_left_or_moved(
    tree: factories.Tree, snapshots: tuple[Any, Any]
) -> None:
    # Given the manager of grid A
    before, after = snapshots
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    # When they compare January with February
    migration = tier_migration(user=manager, before=before, after=after)

    # Then A5 is new, I1 moved in, A4 left and M1 moved out, each once
    rows, columns = _row_sums(migration), _column_sums(migration)
    assert (rows[Migration.NEW], rows[Migration.MOVED_IN]) == (1, 1)
    assert (columns[Migration.LEFT], columns[Migration.MOVED_OUT]) == (1, 1)
    # and each tier's row adds up to its January customers in grid A (A1-A4, M1), each tier's
    # column to its February ones (A1-A3, A5, I1)
    assert _only_tiers(rows) == _scoped_tiers(before, manager)
    assert _only_tiers(columns) == _scoped_tiers(after, manager)
    assert sum(migration.cells.values()) == 7


def test_the_whole_operators_migration_has_no_moves_and_counts_both_snapshots_whole(
    tree: factories.Tree, snapshots: tuple[Any, Any], admin_user: Any
) -> None:
    before, after = snapshots

    migration = tier_migration(user=admin_user, before=before, after=after)

    # Then nobody moves in or out of the whole operator: A5 and B3 are new, A4 left, and the
    # totals are January's 9 customers plus 2 new = February's 10 plus 1 left
    rows, columns = _row_sums(migration), _column_sums(migration)
    assert Migration.MOVED_IN not in migration.sources
    assert Migration.MOVED_OUT not in migration.targets
    assert (rows[Migration.NEW], columns[Migration.LEFT]) == (2, 1)
    assert _only_tiers(rows) == _scoped_tiers(before, admin_user)
    assert _only_tiers(columns) == _scoped_tiers(after, admin_user)
    assert sum(_scoped_tiers(before, admin_user).values()) + 2 == 11
    assert sum(_scoped_tiers(after, admin_user).values()) + 1 == 11
    assert sum(migration.cells.values()) == 11


def test_the_compare_page_shows_totals_and_the_new_and_left_in_chinese(
    tree: factories.Tree, snapshots: tuple[Any, Any], client: Any
) -> None:
    # Given a county manager of county B (grid B: B1-B2, I1 in January; B1-B2, B3, M1 after)
    before, after = snapshots
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b))

    # When they open 快照对比 in Chinese
    with translation.override("zh-hans"):
        page = client.get(
            "/insight/compare/",
            {
                "before": f"{before.month}/{before.run_id}",
                "after": f"{after.month}/{after.run_id}",
            },
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )

    # Then the rows add up to January's 3 and the 1 new and 1 moved in, the columns to
    # February's 4 and the 1 moved out; the grand total is 5; the labels are Chinese
    assert page.status_code == 200
    labels = {row.label: row.total for row in page.context["matrix"]}
    assert labels["新增"] == 1
    assert sum(labels.values()) == page.context["column_totals"][-1] == 5
    assert "已离网" in page.context["header"]


@pytest.fixture
def users(tree: factories.Tree) -> dict[str, Any]:
    """A superuser, the manager of grid A and a county manager of county B (grid B)."""
    return {
        "admin": factories.user(is_superuser=True),
        "grid_a": factories.user(role=Role.GRID_MANAGER, at=tree.grid_a),
        "county_b": factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b),
    }


CUSTOMER = st.tuples(
    st.sampled_from(["CA-1-G1", "CB-1-G1", None]), st.sampled_from(TIERS)
)  # (grid, tier) as a snapshot holds them


def _wide(directory: Path, customers: dict[str, tuple[str | None, str]]) -> Snapshot:
    (directory / "wide").mkdir(parents=True)
    table = pa.table(
        {
            "subscriber_id": pa.array(list(customers), pa.string()),
            "grid_id": pa.array([g for g, _t in customers.values()], pa.string()),
            "value_tier": pa.array([t for _g, t in customers.values()], pa.string()),
        }
    )
    pq.write_table(table, directory / "wide" / "part-0.parquet")
    return Snapshot(month="", run_id="", engine="", created="", rows=0, seconds=0, path=directory)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.dictionaries(st.sampled_from([f"S{i}" for i in range(12)]), CUSTOMER, max_size=12),
    after=st.dictionaries(st.sampled_from([f"S{i}" for i in range(12)]), CUSTOMER, max_size=12),
    who=st.sampled_from(["admin", "grid_a", "county_b"]),
)
def test_rows_add_up_to_the_earlier_snapshot_and_columns_to_the_later_in_any_scope(
    users: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    before: dict[str, tuple[str | None, str]],
    after: dict[str, tuple[str | None, str]],
    who: str,
) -> None:
    # Given any two snapshots over two grids and customers with no grid, and a user
    folder = tmp_path_factory.mktemp("snapshots")
    earlier, later = _wide(folder / "before", before), _wide(folder / "after", after)
    user = users[who]

    # When the migration is computed
    migration = tier_migration(user=user, before=earlier, after=later)

    # Then each tier's row is its customers before in scope and each tier's column its
    # customers after; new + moved in are those in scope after only, left + moved out those
    # in scope before only; every cell is one of the matrix's
    scope = insight_scope(user)
    mine_before = {s: t for s, (g, t) in before.items() if scope.holds(g)}
    mine_after = {s: t for s, (g, t) in after.items() if scope.holds(g)}
    rows, columns = _row_sums(migration), _column_sums(migration)
    assert _only_tiers(rows) == Counter(mine_before.values())
    assert _only_tiers(columns) == Counter(mine_after.values())
    assert rows[Migration.NEW] + rows[Migration.MOVED_IN] == len(mine_after.keys() - mine_before)
    assert columns[Migration.LEFT] + columns[Migration.MOVED_OUT] == len(
        mine_before.keys() - mine_after
    )
    assert rows[Migration.NEW] == len(mine_after.keys() - before.keys())
    assert columns[Migration.LEFT] == len(mine_before.keys() - after.keys())
    assert all(s in migration.sources and t in migration.targets for s, t in migration.cells)
