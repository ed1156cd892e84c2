"""The compare, off-net and models pages read figures worked out once per snapshot (or model)
instead of the wide tables; those figures equal what the wide tables give for every scope."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.core.models import RoleAssignment
from quanwang.insight import compare, duck, offnet, services
from quanwang.insight.choices import ValueTier
from quanwang.insight.churn import ChurnModel, ModelRegistry, gain_importance
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from tests import factories

# Grids of the factories' tree, one unknown to the tree, and no grid at all.
GRIDS = ("CA-1-G1", "CB-1-G1", "ZZ-9-G9", None)

WIDE = pa.schema(
    [
        ("subscriber_id", pa.string()), ("grid_id", pa.string()), ("value_tier", pa.string()),
        ("arpu_3m", pa.float64()), ("months_active_6m", pa.int64()),
        ("churn_risk", pa.float64()), ("saturation_3m", pa.float64()),
    ]
)  # fmt: skip

customers = st.fixed_dictionaries(
    {
        "subscriber_id": st.sampled_from([f"S{i:03d}" for i in range(60)]),
        "grid_id": st.sampled_from(GRIDS),
        "value_tier": st.sampled_from([*ValueTier.values, None]),
        "arpu_3m": st.one_of(st.none(), st.floats(-50, 500, allow_nan=False)),
        # Few distinct values: deciles that coincide and customers on the edges.
        "months_active_6m": st.one_of(st.none(), st.integers(0, 6)),
        "churn_risk": st.one_of(st.none(), st.sampled_from([0.0, 0.01, 0.02, 0.05, 0.3])),
        # NaN, which SQL sorts above every number, now and then.
        "saturation_3m": st.one_of(st.none(), st.floats(0, 2), st.just(math.nan)),
    }
)


def unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per subscriber (the last given)."""
    return list({row["subscriber_id"]: row for row in rows}.values())


def wide_snapshot(rows: list[dict[str, Any]], root: Path, month: str) -> Snapshot:
    """A complete snapshot whose wide table holds `rows` (one per subscriber)."""
    store = SnapshotStore(root)
    run_id, staging = store.begin(month)
    (staging / "wide").mkdir()
    table = pa.Table.from_pylist(unique(rows), schema=WIDE)
    pq.write_table(table, staging / "wide" / "part-0.parquet")
    return store.complete(
        staging,
        Snapshot(
            month=month, run_id=run_id, engine="duckdb", created=run_id, rows=table.num_rows,
            seconds=0.0,
        ),
    )  # fmt: skip


NUMERIC = ["arpu_3m", "months_active_6m", "churn_risk", "saturation_3m"]


def _at_most(value: float, edge: float) -> bool:
    return math.isnan(edge) or (not math.isnan(value) and value <= edge)


def _shares(rows: list[dict[str, Any]], name: str, edges: list[float]) -> list[float]:
    """NULLs first, then each customer in the first bin whose edge it is at most."""
    counts = [0] * 11
    for row in rows:
        if row.get(name) is None:
            counts[0] += 1
            continue
        placed = [i for i, e in enumerate(edges) if _at_most(float(row[name]), e)]
        counts[1 + (placed[0] if placed else len(edges))] += 1
    return [c / max(len(rows), 1) for c in counts]


def _edges(rows: list[dict[str, Any]], name: str) -> list[float]:
    """The deciles of the non-NULL values (NaN above every number; linear between the two
    nearest ranks), each once, in order, NaN last."""
    present = sorted(
        (float(r[name]) for r in rows if r.get(name) is not None), key=lambda v: (math.isnan(v), v)
    )
    cuts = []
    for q in [i / 10 for i in range(1, 10)] if present else []:
        rank = (len(present) - 1) * q
        low, high = math.floor(rank), math.ceil(rank)
        lo, hi = present[low], present[high]
        cuts.append(lo if low == high else lo + (hi - lo) * (rank - low))
    numbers = sorted({c for c in cuts if not math.isnan(c)})
    return numbers + ([math.nan] if any(math.isnan(c) for c in cuts) else [])


def reference_drift(
    old: list[dict[str, Any]], new: list[dict[str, Any]], scope: Any
) -> list[tuple[str, float]]:
    """The definition, customer by customer in plain Python: what the kept drift and the drift
    worked out on request must both give."""
    before = [r for r in unique(old) if scope.holds(r["grid_id"])]
    after = [r for r in unique(new) if scope.holds(r["grid_id"])]
    found = []
    for name in NUMERIC:
        edges = _edges(before, name)
        b, a = _shares(before, name, edges), _shares(after, name, edges)
        psi = sum(
            (max(x, 1e-4) - max(y, 1e-4)) * math.log(max(x, 1e-4) / max(y, 1e-4))
            for x, y in zip(a, b, strict=True)
        )
        found.append((name, round(psi, 4)))
    return sorted(found, key=lambda item: -item[1])[:15]


@pytest.fixture
def people(tree: factories.Tree) -> dict[str, Any]:
    """A user of every kind of scope: everything, the root, a county, a city, a grid, and
    several units at once (two disjoint ones; a county and a grid inside it)."""
    multi = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    RoleAssignment.objects.create(user=multi, role=Role.GRID_MANAGER, org_unit=tree.grid_b)
    nested = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    RoleAssignment.objects.create(user=nested, role=Role.GRID_MANAGER, org_unit=tree.grid_a)
    return {
        "superuser": factories.user(is_superuser=True),
        "province": factories.user(role=Role.PROVINCE_ADMIN, at=tree.province),
        "county": factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b),
        "city": factories.user(role=Role.CITY_MARKETER, at=tree.city_a),
        "grid": factories.user(role=Role.GRID_MANAGER, at=tree.grid_b),
        "two units": multi,
        "a county and its grid": nested,
    }


def keep(before: Snapshot, after: Snapshot) -> None:
    data = compare.build(before=before, after=after, units=services.org_grids())
    compare.write(compare.path_of(after, before.run_id), data)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    old=st.lists(customers, min_size=0, max_size=50),
    new=st.lists(customers, min_size=0, max_size=50),
)
def test_the_kept_comparison_equals_the_wide_tables_for_every_scope(
    people: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
) -> None:
    # Given two snapshots of any customers, compared when the later was built
    root = tmp_path_factory.mktemp("insight")
    before, after = wide_snapshot(old, root, "2024-05"), wide_snapshot(new, root, "2024-06")
    keep(before, after)

    for who, user in people.items():
        # When the compare page's figures are read
        found = compare.comparison(user=user, before=before, after=after)

        # Then they are the definition's and the SQL's on the wide tables, kept or worked out
        scope = services.insight_scope(user)
        assert found.drift == reference_drift(old, new, scope), who
        assert found.drift == services.feature_drift(user=user, before=before, after=after), who
        assert found.migration == services.tier_migration(user=user, before=before, after=after)
        assert found.precomputed == (who != "two units"), who


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    old=st.lists(customers, min_size=0, max_size=50),
    new=st.lists(customers, min_size=0, max_size=50),
)
def test_drift_worked_out_on_request_follows_the_definition_for_every_scope(
    people: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
) -> None:
    # Given two snapshots nobody compared in advance
    root = tmp_path_factory.mktemp("insight")
    before, after = wide_snapshot(old, root, "2024-05"), wide_snapshot(new, root, "2024-06")

    for who, user in people.items():
        # When the page works the drift out
        found = services.feature_drift(user=user, before=before, after=after)

        # Then it is the definition's
        assert found == reference_drift(old, new, services.insight_scope(user)), who


def test_drift_counts_customers_on_an_edge_in_the_lower_bin(
    tmp_path: Path, tree: factories.Tree
) -> None:
    # Given an earlier snapshot whose deciles fall on the values themselves, and a later one
    # where everyone sits exactly on those edges
    old = [
        {"subscriber_id": f"S{i:03d}", "grid_id": "CA-1-G1", "months_active_6m": i % 4}
        for i in range(40)
    ]
    new = [{**row, "months_active_6m": 1} for row in old]
    before = wide_snapshot(old, tmp_path, "2024-05")
    after = wide_snapshot(new, tmp_path, "2024-06")
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)

    # When the drift is worked out
    found = services.feature_drift(user=admin, before=before, after=after)

    # Then it is the definition's, and the move is large
    assert found == reference_drift(old, new, services.insight_scope(admin))
    assert dict(found)["months_active_6m"] > 0.25


def test_a_scope_worked_out_on_request_is_kept_for_the_next_one(
    people: dict[str, Any], tmp_path: Path
) -> None:
    # Given two snapshots compared for the tree, and a user with units in two places
    def rows(scale: float) -> list[dict[str, Any]]:
        return [
            {"subscriber_id": f"S{i:03d}", "grid_id": GRIDS[i % 4], "arpu_3m": scale * i}
            for i in range(30)
        ]

    before = wide_snapshot(rows(1.0), tmp_path, "2024-05")
    after = wide_snapshot(rows(2.0), tmp_path, "2024-06")
    keep(before, after)
    user = people["two units"]
    first = compare.comparison(user=user, before=before, after=after)

    # When the wide tables become unreadable and the user comes back
    for part in [*(before.path / "wide").glob("*"), *(after.path / "wide").glob("*")]:
        part.write_bytes(b"not parquet")
    again = compare.comparison(user=user, before=before, after=after)

    # Then the page shows the drift it worked out the first time
    assert not first.precomputed
    assert again.drift == first.drift
    assert dict(again.drift)["arpu_3m"] > 0


@pytest.mark.parametrize("damage", ["other run", "older format"])
def test_a_kept_comparison_of_other_runs_or_format_is_not_read(
    tree: factories.Tree, tmp_path: Path, damage: str
) -> None:
    # Given a kept comparison that is not this pair's, or is of an older format
    rows = [{"subscriber_id": "S1", "grid_id": "CA-1-G1", "value_tier": "key", "arpu_3m": 5.0}]
    before = wide_snapshot(rows, tmp_path, "2024-05")
    after = wide_snapshot(rows, tmp_path, "2024-06")
    data = compare.build(before=before, after=after, units=services.org_grids())
    if damage == "other run":
        data["before"] = "20200101T000000-abcdef"
    else:
        data["format"] = compare.FORMAT - 1
    data["transitions"] = [[True, "CA-1-G1", "small", True, "CA-1-G1", "small", 99]]
    compare.write(compare.path_of(after, before.run_id), data)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)

    # When the compare page reads the pair
    found = compare.comparison(user=admin, before=before, after=after)

    # Then the wide tables give the figures
    assert not found.precomputed
    assert found.migration.cells == {("key", "key"): 1}


def test_building_a_snapshot_keeps_its_comparison_and_off_net_digest(
    tree: factories.Tree, tmp_path: Path, client: Any
) -> None:
    # Given January's snapshot
    factories.warehouse_customers(tree, tmp_path)
    call_command("run-pipeline", "--snapshot", "2024-01")
    january = SnapshotStore().latest()

    # When February's is built as the nightly job does
    call_command("run-pipeline", "--snapshot", "2024-02")
    february = SnapshotStore().latest()

    # Then February holds its comparison with January and its off-net digest, and a county
    # manager's compare page reads them, with the figures of the wide tables
    assert january is not None
    assert february is not None
    assert compare.path_of(february, january.run_id).is_file()
    assert (february.path / offnet.DIGEST / "top.parquet").is_file()
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    found = compare.comparison(user=county, before=january, after=february)
    assert found.precomputed
    assert found.drift == services.feature_drift(user=county, before=january, after=february)
    client.force_login(county)
    page = client.get("/insight/compare/")
    assert page.status_code == 200
    assert sum(row.total for row in page.context["matrix"]) == 1


def test_a_month_built_late_keeps_the_pair_the_compare_page_opens_with(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given February's snapshot
    factories.warehouse_customers(tree, tmp_path)
    call_command("run-pipeline", "--snapshot", "2024-02")

    # When January's is built after it
    call_command("run-pipeline", "--snapshot", "2024-01")

    # Then February keeps its comparison with January, the compare page's first view
    february, january = SnapshotStore().list()
    assert compare.path_of(february, january.run_id).is_file()
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    assert compare.comparison(user=admin, before=january, after=february).precomputed


def test_a_failure_keeping_the_figures_leaves_a_usable_snapshot(
    tree: factories.Tree, tmp_path: Path, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given January's snapshot, and a comparison step that breaks (a full disk, say)
    factories.warehouse_customers(tree, tmp_path)
    call_command("run-pipeline", "--snapshot", "2024-01")

    def broken(**_kwargs: Any) -> Any:
        raise OSError("No space left on device")

    monkeypatch.setattr(compare, "build", broken)

    # When February's snapshot is built
    call_command("run-pipeline", "--snapshot", "2024-02")

    # Then February is complete and the compare page works its figures out on request
    assert [s.month for s in SnapshotStore().list()] == ["2024-02", "2024-01"]
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    page = client.get("/insight/compare/")
    assert page.status_code == 200
    assert sum(row.total for row in page.context["matrix"]) == 2
    assert page.context["drift"]


def test_the_previous_snapshot_is_the_one_listed_just_before() -> None:
    def made(month: str, created: str) -> Snapshot:
        return Snapshot(month=month, run_id=created, engine="duckdb", created=created, rows=0,
                        seconds=0.0)  # fmt: skip

    listed = [made("2024-03", "b"), made("2024-03", "a"), made("2024-02", "z")]

    assert compare.previous(listed, month="2024-03", created="c") == listed[0]
    assert compare.previous(listed, month="2024-03", created="b") == listed[1]
    assert compare.previous(listed, month="2024-02", created="z0") == listed[2]
    assert compare.previous(listed, month="2024-01", created="x") is None


# --- The off-net pool -------------------------------------------------------------------------

POOL = pa.schema(
    [
        ("peer_hash", pa.string()), ("peer_operator", pa.string()), ("our_ties", pa.int64()),
        ("calls", pa.float64()), ("minutes", pa.float64()), ("referrer_id", pa.string()),
        ("referrer_grid_id", pa.string()), ("referrer_minutes", pa.float64()),
        ("tie_strength", pa.float64()), ("pool_rank", pa.int64()),
    ]
)  # fmt: skip

targets = st.fixed_dictionaries(
    {
        "peer_operator": st.sampled_from(["移动", "电信", "联通"]),
        "our_ties": st.integers(1, 9),
        "calls": st.integers(1, 99).map(float),
        # Halves add up exactly in any order: the digest adds per grid first, the pool row by row.
        "minutes": st.one_of(st.none(), st.integers(0, 4000).map(lambda m: m / 2)),
        "referrer_grid_id": st.sampled_from(GRIDS),
        "tie_strength": st.floats(0, 50, allow_nan=False),
    }
)


def pool_snapshot(rows: list[dict[str, Any]], root: Path) -> Snapshot:
    """A snapshot with an off-net pool of `rows`, ranked by tie strength as the pipeline."""
    snapshot = wide_snapshot([], root, "2024-06")
    ordered = sorted(enumerate(rows), key=lambda item: (-item[1]["tie_strength"], item[0]))
    records = [
        row | {"peer_hash": f"{index:064x}", "referrer_id": f"S{index}", "referrer_minutes": 1.0,
               "pool_rank": rank + 1}
        for rank, (index, row) in enumerate(ordered)
    ]  # fmt: skip
    (snapshot.path / "offnet_pool").mkdir()
    pq.write_table(
        pa.Table.from_pylist(records, schema=POOL), snapshot.path / "offnet_pool" / "part-0.parquet"
    )
    return snapshot


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(targets, min_size=0, max_size=40))
def test_the_off_net_digest_gives_the_pools_figures_for_every_scope(
    people: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[dict[str, Any]],
) -> None:
    # Given a pool of any targets, and a page of 4 targets so that the digest must cut
    monkeypatch.setattr(services, "POOL_PAGE", 4)
    snapshot = pool_snapshot(rows, tmp_path_factory.mktemp("insight"))
    offnet.build(snapshot)

    for who, user in people.items():
        # When the page is read from the digest
        found = offnet.offnet_report(user=user, snapshot=snapshot)

        # Then it shows what the whole pool gives
        assert found == services.offnet_report(user=user, snapshot=snapshot), who


def test_a_snapshot_without_a_digest_gets_one_on_first_read(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given a snapshot made before digests, with a target referred from county A
    snapshot = pool_snapshot(
        [{"peer_operator": "移动", "our_ties": 2, "calls": 3.0, "minutes": 12.5,
          "referrer_grid_id": "CA-1-G1", "tie_strength": 1.0}],
        tmp_path,
    )  # fmt: skip
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When the county manager opens the page
    found = offnet.offnet_report(user=county, snapshot=snapshot)

    # Then they see the target, and the digest is now stored with the snapshot
    assert [t["referrer_grid_id"] for t in found["targets"]] == ["CA-1-G1"]
    assert (snapshot.path / offnet.DIGEST / "by_grid.parquet").is_file()


def test_the_off_net_page_reads_the_digest_and_not_the_pool(
    tree: factories.Tree, tmp_path: Path, client: Any
) -> None:
    # Given a snapshot with its digest whose pool has since become unreadable
    snapshot = pool_snapshot(
        [{"peer_operator": "电信", "our_ties": 1, "calls": 1.0, "minutes": 3.0,
          "referrer_grid_id": "CB-1-G1", "tie_strength": 2.0}],
        tmp_path / "var" / "insight",  # the console's var folder (tests/conftest.py)
    )  # fmt: skip
    offnet.build(snapshot)
    for part in (snapshot.path / "offnet_pool").glob("*"):
        part.write_bytes(b"not parquet")
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_b))

    # When the grid manager opens the page for that snapshot
    page = client.get(f"/insight/offnet/?snapshot={snapshot.month}/{snapshot.run_id}")

    # Then it is served from the digest
    assert page.status_code == 200
    assert [row["operator"] for row in page.context["report"]["by_operator"]] == ["电信"]


# --- The models page --------------------------------------------------------------------------


def test_a_saved_models_importance_is_kept_and_read_without_the_booster(tmp_path: Path) -> None:
    import lightgbm

    # Given a churn model saved to the registry
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(int)
    features = ["arpu_3m", "mou_3m", "tenure_months"]
    booster = lightgbm.train(
        {"objective": "binary", "verbosity": -1, "min_data_in_leaf": 5},
        lightgbm.Dataset(x, label=y, feature_name=features),
        num_boost_round=5,
    )
    model = ChurnModel(
        model_id="20240101T000000-aaaaaa", horizon=1, features=features, calibration=(1.0, 0.0),
        trained_months=["2023-12"], validation_month="2024-01", metrics={}, medians={},
        created="2024-01-01T00:00:00+00:00", _booster=booster,
    )  # fmt: skip
    registry = ModelRegistry(root=tmp_path)
    registry.save(model, booster)

    # When its booster is gone and the models page lists it again
    (tmp_path / model.model_id / "model.txt").unlink()
    [listed] = registry.list()

    # Then its importance is read from what the save kept
    assert listed.importance() == gain_importance(booster, features)
    kept = json.loads((tmp_path / model.model_id / "importance.json").read_text())
    assert kept["importance"][0][0] == "arpu_3m"


# --- DuckDB ------------------------------------------------------------------------------------


def test_cursors_share_one_database_per_process_and_a_fork_opens_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a table made through one cursor
    duck.cursor().execute("CREATE OR REPLACE TABLE kept AS SELECT 42 AS n")

    # Then another cursor of the process sees it
    assert duck.cursor().execute("SELECT n FROM kept").fetchone() == (42,)

    # And a forked process (another process id) does not use its parent's database
    monkeypatch.setattr(os, "getpid", lambda: -1)
    with pytest.raises(duckdb.CatalogException):
        duck.cursor().execute("SELECT n FROM kept")
