"""The customer value page's figures, precomputed per org unit when a snapshot is built
(`insight.summary`), equal what the wide table gives for the same scope."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.core.models import RoleAssignment
from quanwang.insight import services, summary
from quanwang.insight.choices import LifecycleStage, ValueTier
from quanwang.insight.dashboard import Dashboard, customer_value, summary_of
from quanwang.insight.pipeline import run_pipeline
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from quanwang.insight.summary import UnitGrids
from tests import factories

# Grids of the factories' tree, one unknown to the tree, and no grid at all.
GRIDS = ("CA-1-G1", "CB-1-G1", "ZZ-9-G9", None)
REASONS = ("dual_sim_secondary", "contract_expiring_3m", "arpu_trend_3m_low", "tenure_months")

customers = st.fixed_dictionaries(
    {
        "grid_id": st.sampled_from(GRIDS),
        "value_tier": st.sampled_from([*ValueTier.values, None]),
        "revenue_window": st.one_of(st.none(), st.floats(0, 5_000, allow_nan=False)),
        "clv_12m": st.one_of(st.none(), st.floats(0, 9_000, allow_nan=False)),
        "switching_cost": st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
        "churn_risk": st.one_of(st.none(), st.floats(0, 0.3, allow_nan=False)),
        "churn_reasons": st.one_of(
            st.none(),
            st.lists(st.sampled_from(REASONS), min_size=1, max_size=3, unique=True).map(",".join),
        ),
        "lifecycle_stage": st.sampled_from(LifecycleStage.values),
        "plan_5g": st.booleans(),
        "is_broadband_line": st.booleans(),
        "device_5g": st.booleans(),
        "upgrade_5g_rule": st.booleans(),
        "upgrade_5g_propensity": st.floats(0, 1, allow_nan=False),
        "do_not_disturb": st.one_of(st.none(), st.booleans()),
    }
)


# The wide table's columns that the page reads.
WIDE = pa.schema(
    [
        ("subscriber_id", pa.string()), ("grid_id", pa.string()), ("value_tier", pa.string()),
        ("revenue_window", pa.float64()), ("clv_12m", pa.float64()),
        ("switching_cost", pa.float64()), ("churn_risk", pa.float64()),
        ("churn_reasons", pa.string()), ("lifecycle_stage", pa.string()),
        ("plan_5g", pa.bool_()), ("is_broadband_line", pa.bool_()), ("device_5g", pa.bool_()),
        ("upgrade_5g_rule", pa.bool_()), ("upgrade_5g_propensity", pa.float64()),
        ("do_not_disturb", pa.bool_()),
    ]
)  # fmt: skip


def scored_snapshot(rows: list[dict[str, Any]], root: Path) -> Snapshot:
    """A complete snapshot whose wide table holds `rows` (columns not given are empty)."""
    store = SnapshotStore(root)
    run_id, staging = store.begin("2024-06")
    (staging / "wide").mkdir()
    records = [{"subscriber_id": f"S{i:05d}"} | row for i, row in enumerate(rows)]
    table = pa.Table.from_pylist(records, schema=WIDE)
    pq.write_table(table, staging / "wide" / "part-0.parquet")
    return store.complete(
        staging,
        Snapshot(
            month="2024-06", run_id=run_id, engine="duckdb", created=run_id,
            rows=len(rows), seconds=0.0,
        ),
    )  # fmt: skip


def from_wide_table(user: Any, snapshot: Snapshot) -> dict[str, Any]:
    """What the page showed before summaries: every figure computed from the wide table."""
    return {
        "report": services.tier_report(user=user, snapshot=snapshot),
        "histogram": services.switching_cost_histogram(user=user, snapshot=snapshot),
        "grids": services.grid_report(user=user, snapshot=snapshot),
        "risk": services.risk_report(user=user, snapshot=snapshot),
        "lifecycle": services.lifecycle_report(user=user, snapshot=snapshot),
        "funnel": services.upgrade_funnel(user=user, snapshot=snapshot),
    }


def assert_same(page: Dashboard, expected: dict[str, Any]) -> None:
    report, wanted = page.report, expected["report"]
    assert report.customers == wanted.customers
    assert report.revenue == pytest.approx(wanted.revenue)
    assert report.share_of_all_customers == pytest.approx(wanted.share_of_all_customers)
    assert report.share_of_all_revenue == pytest.approx(wanted.share_of_all_revenue)
    for row, want in zip(report.rows, wanted.rows, strict=True):
        assert (row.tier, row.customers) == (want.tier, want.customers)
        assert row.revenue == pytest.approx(want.revenue)
        assert row.customer_share == pytest.approx(want.customer_share)
        assert row.revenue_share == pytest.approx(want.revenue_share)
        assert (row.clv_12m is None) == (want.clv_12m is None)
        if want.clv_12m is not None:
            assert row.clv_12m == pytest.approx(want.clv_12m)
    assert page.histogram == expected["histogram"]
    assert page.grids == expected["grids"]
    assert page.lifecycle == expected["lifecycle"]
    assert page.funnel == expected["funnel"]
    risk, want_risk = page.risk, expected["risk"]
    assert (risk is None) == (want_risk is None)
    if risk is not None:
        assert risk["bands"] == want_risk["bands"]
        assert risk["drivers"] == want_risk["drivers"]
        assert risk["expected_leavers"] == pytest.approx(want_risk["expected_leavers"])


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


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(customers, min_size=0, max_size=40))
def test_the_precomputed_figures_equal_the_wide_tables_for_every_scope(
    people: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]]
) -> None:
    # Given a snapshot of any customers, with its summary built on the org tree
    snapshot = scored_snapshot(rows, tmp_path_factory.mktemp("insight"))
    data = summary.build(
        wide=snapshot.path / "wide", units=services.org_grids(), run_id=snapshot.run_id
    )
    summary.write(snapshot.path, data)

    for who, user in people.items():
        # When the page is read from the summary
        page = customer_value(user=user, snapshot=snapshot)

        # Then it shows what the wide table gives for the same scope
        assert page.precomputed, who
        assert_same(page, from_wide_table(user, snapshot))


def test_the_org_tree_gives_each_unit_its_grids_and_the_root_the_customers_without_one(
    tree: factories.Tree,
) -> None:
    grids = services.org_grids()

    assert grids[tree.province.code] == UnitGrids(grids=("CA-1-G1", "CB-1-G1"), gridless=True)
    assert grids[tree.city_a.code] == UnitGrids(grids=("CA-1-G1",), gridless=False)
    assert grids[tree.county_b.code] == UnitGrids(grids=("CB-1-G1",), gridless=False)
    assert grids[tree.grid_a.code] == UnitGrids(grids=("CA-1-G1",), gridless=False)


def test_the_pipeline_writes_the_summary_per_org_unit_with_the_snapshot(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given the warehouse's two customers, one per city
    factories.warehouse_customers(tree, tmp_path)

    # When the pipeline builds February with the org tree's grids
    snapshot = run_pipeline(month="2024-02", units=services.org_grids())

    # Then the snapshot holds a row for every org unit, each counting its own customers
    found = summary_of(snapshot)
    assert found is not None
    assert set(found.units) == {u.code for u in tree.__dict__.values() if hasattr(u, "code")}
    assert found.units[tree.province.code][2].count("customers") == 2
    assert found.units[tree.county_a.code][2].count("customers") == 1
    assert snapshot.summary["units"] == 7
    assert json.loads((snapshot.path / "manifest.json").read_text())["summary"]["grids"] == 2


def test_a_summary_that_fails_leaves_no_snapshot(
    tree: factories.Tree, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a summary step that breaks (a full disk, say)
    factories.warehouse_customers(tree, tmp_path)

    def broken(**_kwargs: Any) -> Any:
        raise OSError("No space left on device")

    monkeypatch.setattr(summary, "build", broken)

    # When the pipeline runs, then it fails and no complete snapshot is left behind
    with pytest.raises(OSError, match="No space"):
        run_pipeline(month="2024-02", units=services.org_grids())
    assert SnapshotStore().list() == []


@pytest.mark.parametrize("damage", ["missing", "other run", "older format"])
def test_a_snapshot_without_a_usable_summary_gets_one_on_first_read(
    tree: factories.Tree, tmp_path: Path, damage: str
) -> None:
    # Given a snapshot whose summary is gone, another run's or of an older format
    rows = [
        {"grid_id": g, "value_tier": "small", "revenue_window": 10.0, "switching_cost": 40.0}
        for g in ("CA-1-G1", "CA-1-G1", "CB-1-G1", None)
    ]
    snapshot = scored_snapshot(rows, tmp_path / "insight")
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    if damage != "missing":
        data = summary.build(wide=snapshot.path / "wide", units={}, run_id=snapshot.run_id)
        if damage == "other run":
            data["run_id"] = "20240101T000000-abcdef"
        else:
            data["format"] = summary.FORMAT - 1
            data["units"] = {tree.county_a.code: {"grids": [], "gridless": False, "figures": {}}}
        summary.write(snapshot.path, data)

    # When the county manager opens the page
    page = customer_value(user=county, snapshot=snapshot)

    # Then they see their county as the wide table has it, and the summary is now stored
    assert page.report.customers == 2
    assert_same(page, from_wide_table(county, snapshot))
    stored = summary.load(snapshot.path, run_id=snapshot.run_id)
    assert stored is not None
    assert stored.units[tree.county_a.code][0] == frozenset({"CA-1-G1"})


def test_a_unit_whose_grids_changed_since_the_build_is_counted_from_its_grids(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given a summary built before county A had its second grid
    rows = [
        {"grid_id": g, "value_tier": "key", "revenue_window": 100.0, "switching_cost": 10.0}
        for g in ("CA-1-G1", "CA-1-G2", "CA-1-G2", "CB-1-G1")
    ]
    snapshot = scored_snapshot(rows, tmp_path / "insight")
    summary.write(
        snapshot.path,
        summary.build(
            wide=snapshot.path / "wide", units=services.org_grids(), run_id=snapshot.run_id
        ),
    )
    factories.org_unit(code="CA-1-G2", parent=tree.county_a)
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When the county manager opens the page
    page = customer_value(user=county, snapshot=snapshot)

    # Then the new grid's customers count, as in the wide table
    assert page.report.customers == 3
    assert_same(page, from_wide_table(county, snapshot))


def test_the_page_reads_the_summary_and_not_the_wide_table(
    tree: factories.Tree, tmp_path: Path, client: Any
) -> None:
    # Given a built snapshot whose wide table has since become unreadable
    factories.warehouse_customers(tree, tmp_path)
    snapshot = run_pipeline(month="2024-02", units=services.org_grids())
    for part in (snapshot.path / "wide").glob("*.parquet"):
        part.write_bytes(b"not parquet")
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    # When the county manager opens the customer value page and its two exports
    page = client.get("/insight/")
    label = f"{snapshot.month}/{snapshot.run_id}"
    grids = client.get(f"/insight/grids.xlsx?snapshot={label}")
    tiers = client.get(f"/insight/tiers.xlsx?snapshot={label}")

    # Then all three are served from the summary
    assert (page.status_code, grids.status_code, tiers.status_code) == (200, 200, 200)
    assert page.context["report"].customers == 1
    assert [g["grid_id"] for g in page.context["grids"]] == [tree.grid_a.code]


def test_the_figures_of_disjoint_units_add_up_to_those_of_their_grids() -> None:
    # Given the figures of two grids
    found = summary.parse(
        {
            "run_id": "r",
            "has": {"clv": False, "risk": False, "lifecycle": False, "funnel": False},
            "everyone": {"values": {"customers": 5}},
            "grids": {
                "G1": {"row": {}, "figures": {"values": {"customers": 2, "revenue": 1.5}}},
                "G2": {"row": {}, "figures": {"values": {"customers": 3, "revenue": 2.0}}},
            },
            "units": {
                "U1": {"grids": ["G1"], "gridless": False, "figures": {"values": {"customers": 2}}},
                "U2": {"grids": ["G2"], "gridless": False, "figures": {"values": {"customers": 3}}},
                "U": {
                    "grids": ["G1", "G2"], "gridless": False,
                    "figures": {"values": {"customers": 5}},
                },
            },
        }
    )  # fmt: skip

    # Then two disjoint units add up, overlapping ones or a changed grid set are refused
    both = found.unit_figures(["U1", "U2"], grids=["G1", "G2"], gridless=False)
    assert both is not None
    assert both.count("customers") == 5
    assert found.unit_figures(["U", "U1"], grids=["G1", "G2"], gridless=False) is None
    assert found.unit_figures(["U1"], grids=["G1", "G3"], gridless=False) is None
    assert found.unit_figures(["U9"], grids=["G1"], gridless=False) is None
    assert math.isclose(found.grid_figures(["G1", "G2"], gridless=False).get("revenue"), 3.5)
