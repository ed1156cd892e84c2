"""The insight pages, command and job: scoped to the user's grids, built as a job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import load_workbook

from quanwang.core.choices import JobStatus, Role
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job
from quanwang.insight.pipeline import run_pipeline
from quanwang.insight.snapshots import SnapshotStore
from tests import factories


@pytest.fixture
def snapshot(tree: factories.Tree, tmp_path: Path) -> Any:
    factories.warehouse_customers(tree, tmp_path)
    return run_pipeline(month="2024-02")


def test_a_county_sees_its_own_grids_and_its_share_of_the_province(
    tree: factories.Tree, snapshot: Any, client: Any
) -> None:
    # Given a county manager of county A, whose grid holds one of the two subscribers
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    # When they open the customer value page
    page = client.get("/insight/")

    # Then only their grid is listed, with one customer, half of the province
    body = page.content.decode()
    assert page.status_code == 200
    assert tree.grid_a.code in body
    assert tree.grid_b.code not in body
    assert page.context["report"].customers == 1
    assert page.context["report"].share_of_all_customers == 0.5


def test_the_grid_table_exports_as_xlsx_within_scope(
    tree: factories.Tree, snapshot: Any, client: Any, tmp_path: Path
) -> None:
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    response = client.get(f"/insight/grids.xlsx?snapshot={snapshot.month}/{snapshot.run_id}")

    path = tmp_path / "grids.xlsx"
    path.write_bytes(response.content)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [tree.grid_a.code]


def test_a_marketer_builds_a_snapshot_as_a_job_from_the_console(
    tree: factories.Tree, client: Any, tmp_path: Path
) -> None:
    # Given loaded data and a city marketer
    factories.warehouse_customers(tree, tmp_path)
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    # When they ask for February and the job runs
    response = client.post("/insight/run/", {"month": "2024-02", "engine": "duckdb"})
    job = execute_job(job_id=Job.objects.get().pk)

    # Then the page went to the job, which built the snapshot
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == JobStatus.SUCCEEDED
    assert [s.month for s in SnapshotStore().list()] == ["2024-02"]


def test_a_grid_manager_may_not_build_snapshots(tree: factories.Tree, client: Any) -> None:
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    response = client.post("/insight/run/", {"month": "2024-02", "engine": "duckdb"})

    assert response.status_code == 404
    assert not Job.objects.exists()


def test_the_command_builds_a_snapshot_and_lists_it(
    tree: factories.Tree, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    factories.warehouse_customers(tree, tmp_path)

    call_command("run-pipeline", "--snapshot", "2024-02")
    call_command("run-pipeline", "--list")

    out = capsys.readouterr().out
    assert "2024-02" in out
    assert len(SnapshotStore().list()) == 1


def test_the_command_refuses_a_month_without_usage_in_one_line(
    tree: factories.Tree, tmp_path: Path
) -> None:
    from django.core.management.base import CommandError

    factories.warehouse_customers(tree, tmp_path)

    with translation.override("en"), pytest.raises(CommandError, match="no rows for 2030-01"):
        call_command("run-pipeline", "--snapshot", "2030-01")


def test_comparing_two_snapshots_shows_the_tier_migration(
    tree: factories.Tree, snapshot: Any, client: Any
) -> None:
    january = run_pipeline(month="2024-01")
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    page = client.get(
        "/insight/compare/",
        {
            "before": f"{january.month}/{january.run_id}",
            "after": f"{snapshot.month}/{snapshot.run_id}",
        },
    )

    assert sum(row.total for row in page.context["matrix"]) == 2


def test_the_customer_360_panel_shows_the_tier_only_within_scope(
    tree: factories.Tree, snapshot: Any, client: Any
) -> None:
    # Given a grid manager of grid A
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    # When the 360 page loads the insight panel of their customer and of another grid's
    own = client.get("/insight/customers/SA1/", HTTP_ACCEPT_LANGUAGE="en")
    other = client.get("/insight/customers/SB1/", HTTP_ACCEPT_LANGUAGE="en")

    # Then their customer's tier and switching cost show, the other customer does not
    assert own.context["insight"]["value_tier"] in {"key", "large", "regular", "small"}
    assert "Switching cost" in own.content.decode()
    assert other.context["insight"] is None


def test_the_offnet_pool_page_lists_targets_of_the_users_grids_only(
    tree: factories.Tree, snapshot: Any, client: Any
) -> None:
    # Given SA1 of grid A calls a 移动 number (the demo fixture's contacts)
    mine = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    other = factories.user(role=Role.GRID_MANAGER, at=tree.grid_b)

    client.force_login(mine)
    own = client.get("/insight/offnet/").context["report"]
    client.force_login(other)
    foreign = client.get("/insight/offnet/").context["report"]

    assert [t["referrer_id"] for t in own["targets"]] == ["SA1"]
    assert [row["operator"] for row in own["by_operator"]] == ["移动"]
    assert foreign["targets"] == []


def test_a_snapshot_compared_with_itself_has_no_drift(
    tree: factories.Tree, snapshot: Any, admin_user: Any
) -> None:
    from quanwang.insight.services import feature_drift

    drift = feature_drift(user=admin_user, before=snapshot, after=snapshot)

    assert drift
    assert all(psi == 0 for _name, psi in drift)


def test_drift_between_months_names_the_columns_that_moved(
    tree: factories.Tree, snapshot: Any, admin_user: Any
) -> None:
    from quanwang.insight.services import feature_drift

    january = run_pipeline(month="2024-01")

    drift = dict(feature_drift(user=admin_user, before=january, after=snapshot))

    # months_active_6m is 1 in January and 2 in February for both subscribers
    assert drift["months_active_6m"] > 0.25


def test_the_risk_map_draws_only_the_grids_in_scope(tree: factories.Tree, snapshot: Any) -> None:
    from quanwang.insight.services import grid_map, grid_report

    # Given a county manager of county A
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    # When the map of their grids is drawn
    grids = grid_report(user=manager, snapshot=snapshot)
    geo = grid_map(user=manager, grids=grids)

    # Then it holds their grid's boundary and figures, and no other grid
    assert geo is not None
    [feature] = geo["features"]
    assert feature["properties"]["name"] == tree.grid_a.code
    assert feature["properties"]["customers"] == 1
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["geometry"]["coordinates"][0][0] == (120.0, 30.0)


def test_the_value_page_counts_customers_by_lifecycle_stage_in_scope(
    tree: factories.Tree, snapshot: Any, client: Any
) -> None:
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    page = client.get("/insight/")

    stages = dict(page.context["lifecycle"])
    assert sum(stages.values()) == 1
    assert "lifecycle-chart" in page.content.decode()


def test_the_offnet_targets_export_as_xlsx_within_scope(
    tree: factories.Tree, snapshot: Any, client: Any, tmp_path: Path
) -> None:
    # Given grid managers of grid A (whose SA1 calls a 移动 number) and of grid B
    def export(user: Any) -> list[tuple[Any, ...]]:
        client.force_login(user)
        response = client.get(
            f"/insight/offnet.xlsx?snapshot={snapshot.month}/{snapshot.run_id}",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        path = tmp_path / f"{user.pk}.xlsx"
        path.write_bytes(response.content)
        return list(load_workbook(path).active.iter_rows(values_only=True))

    own = export(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))
    foreign = export(factories.user(role=Role.GRID_MANAGER, at=tree.grid_b))

    assert own[0][:3] == ("Number (hash)", "Operator", "Our customers calling")
    assert [(row[1], row[5]) for row in own[1:]] == [("移动", "SA1")]
    assert len(foreign) == 1


def test_the_tier_table_exports_as_xlsx_with_every_tier(
    tree: factories.Tree, snapshot: Any, client: Any, tmp_path: Path
) -> None:
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    response = client.get(f"/insight/tiers.xlsx?snapshot={snapshot.month}/{snapshot.run_id}")

    path = tmp_path / "tiers.xlsx"
    path.write_bytes(response.content)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 4
    assert sum(row[1] for row in rows[1:]) == 1
