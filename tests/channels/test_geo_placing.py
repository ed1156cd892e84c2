"""The grid assignment's result is what every reader of the warehouse sees (channels.geo.placing):
the snapshot's inputs, customer pages, scorecards and the store file count a point in the grid
its coordinates lie in; imports keep the imported grid; boundaries removed give it back."""

from __future__ import annotations

from pathlib import Path

import duckdb

from quanwang.channels.models import Store
from quanwang.channels.scorecards.services.kept import data_version
from quanwang.core.choices import Role
from quanwang.data import customers
from quanwang.data.after_import import run_after_import
from quanwang.data.importer import import_file
from quanwang.data.warehouse import Warehouse
from quanwang.insight.pipeline import warehouse_files
from tests import factories
from tests.channels.test_geo_pages import load_city


def grids_of(relation: str, key: str) -> dict[str, str | None]:
    rows = duckdb.sql(f"SELECT {key}, grid_id FROM {relation}").fetchall()
    return dict(rows)


def load(directory: Path, table: str, text: str) -> None:
    path = directory / f"{table}.csv"
    path.write_text(text, encoding="utf-8")
    import_file(table_name=table, path=path)
    run_after_import(table)


def test_readers_see_placed_grids_and_the_imported_rows_keep_theirs(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given the city assigned once: SA1 was imported in grid B but lives in grid A's polygon
    load_city(tree, tmp_path)
    a, b = tree.grid_a.code, tree.grid_b.code
    store = Warehouse()

    # When a reader asks for the subscribers
    placed = grids_of(store.relation("subscribers"), "subscriber_id")
    imported = grids_of(f"read_parquet('{store.current_file('subscribers')}')", "subscriber_id")

    # Then the polygon's grid wins; no coordinates or outside every grid keep the imported one
    assert placed["SA1"] == a
    assert placed["SB1"] == b
    assert placed["SX"] == a  # outside every grid: imported, and on the unassigned list
    assert placed["SY"] is None  # outside every grid and imported without one
    assert placed["SZ"] == b  # no coordinates
    # And the imported rows are untouched, so the next import merges into them
    assert imported["SA1"] == b
    # And the snapshot is built from the placed copy
    assert warehouse_files()["subscribers"].name.startswith("placed-")


def test_a_customer_is_in_reach_of_the_grid_its_coordinates_lie_in(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given the city assigned, and a manager of each grid
    load_city(tree, tmp_path)
    manager_a = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    manager_b = factories.user(role=Role.GRID_MANAGER, at=tree.grid_b)

    # When each looks SA1 up
    found_a = customers.search(user=manager_a, query="SA1")
    found_b = customers.search(user=manager_b, query="SA1")

    # Then grid A's manager finds them, grid B's (their imported grid) does not
    assert [row["subscriber_id"] for row in found_a] == ["SA1"]
    assert found_b == []


def test_an_import_places_its_rows_before_the_store_file_syncs(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given the city assigned
    load_city(tree, tmp_path)
    a, b = tree.grid_a.code, tree.grid_b.code

    # When a store file arrives naming grid B for a store inside grid A's polygon
    load(
        tmp_path,
        "stores",
        "store_id,name,store_type,grid_id,lat,lon\n"
        f"ST1,甲一店,自营厅,{a},23.005,113.005\n"
        f"ST2,乙名甲址,合作店,{b},23.006,113.003\n",
    )

    # Then the store file places it in grid A's unit, and readers agree
    assert Store.objects.get(store_id="ST2").org_unit == tree.grid_a
    assert grids_of(Warehouse().relation("stores"), "store_id")["ST2"] == a


def test_a_new_import_is_placed_again_and_the_data_version_moves(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given the city assigned, and the scorecards' data version
    load_city(tree, tmp_path)
    a, b = tree.grid_a.code, tree.grid_b.code
    before = data_version()

    # When the customer file is imported again (SA1 still in grid B by the file)
    load(
        tmp_path,
        "subscribers",
        "subscriber_id,msisdn,name,segment,payment_type,join_date,status,plan_id,grid_id,lat,lon\n"
        f"SA1,13800000001,张三丰,个人,postpaid,2020-01-01,active,P1,{b},23.005,113.002\n",
    )

    # Then the new version is placed too, and whatever was kept from the old one is stale
    assert grids_of(Warehouse().relation("subscribers"), "subscriber_id")["SA1"] == a
    assert data_version() != before


def test_boundaries_removed_give_every_row_its_imported_grid_back(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given the city assigned
    load_city(tree, tmp_path)
    b = tree.grid_b.code

    # When the grids are imported again without boundaries
    load(
        tmp_path,
        "grids",
        "grid_id,name,grid_type,county_code\n"
        f"{tree.grid_a.code},甲网格,沿街,{tree.county_a.code}\n"
        f"{b},乙网格,沿街,{tree.county_b.code}\n",
    )

    # Then the readers see the imported grids again
    store = Warehouse()
    assert grids_of(store.relation("subscribers"), "subscriber_id")["SA1"] == b
    assert store.read_file("subscribers") == store.current_file("subscribers")
