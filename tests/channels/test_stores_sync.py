"""The store file follows the warehouse's stores table (channels.stores.sync)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from quanwang.channels.choices import PartnerStage, StageSource, StoreGrade
from quanwang.channels.models import StageChange, Store
from quanwang.channels.stores.sync import sync_stores
from quanwang.core.models import OrgUnit
from quanwang.data.importer import import_file
from tests import factories

STORE_HEADER = (
    "store_id,name,store_type,grade,lat,lon,grid_id,owner_name,contact_msisdn,partner_stage,"
    "opened_date\n"
)


def grids_csv(tree: factories.Tree, *extra: str) -> str:
    """Both grids of the tree (沿街 and 校园), plus `extra` lines."""
    return (
        "grid_id,name,grid_type,county_code\n"
        f"{tree.grid_a.code},甲网格,沿街,{tree.county_a.code}\n"
        f"{tree.grid_b.code},乙网格,校园,{tree.county_b.code}\n" + "".join(extra)
    )


def load(directory: Path, **tables: str) -> None:
    """Import CSV text into warehouse tables, in the order given."""
    for table, text in tables.items():
        path = Path(directory) / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        import_file(table_name=table, path=path)


def store_line(
    store_id: str,
    grid: str,
    *,
    name: str = "",
    kind: str = "合作店",
    grade: str = "",
    stage: str = "",
    owner: str = "王五",
    phone: str = "13800138000",
    opened: str = "2023-01-15",
) -> str:
    return (
        f"{store_id},{name or '网点' + store_id},{kind},{grade},30.005,120.005,{grid},{owner},"
        f"{phone},{stage},{opened}\n"
    )


def stores_in_tree(tree: factories.Tree, directory: Path, *lines: str) -> None:
    load(directory, grids=grids_csv(tree), stores=STORE_HEADER + "".join(lines))


def snapshot() -> list[dict[str, Any]]:
    return list(
        Store.objects.order_by("store_id").values(
            "store_id", "name", "org_unit__code", "active", "partner_stage", "grade", "lat"
        )
    )


def test_sync_creates_each_store_in_its_grids_unit(tree: factories.Tree, tmp_path: Path) -> None:
    # given two stores, one in each grid
    stores_in_tree(
        tree,
        tmp_path,
        store_line("S1", tree.grid_a.code, stage="谈恋爱"),
        store_line("S2", tree.grid_b.code, kind="自营厅"),
    )
    # when the store file is synced
    report = sync_stores()
    # then each store sits in its grid's org unit, with the imported stage on record
    assert report.created == 2
    s1 = Store.objects.get(store_id="S1")
    assert s1.org_unit == tree.grid_a
    assert s1.partner_stage == PartnerStage.COURTING
    assert s1.contact_msisdn == "13800138000"
    assert Store.objects.get(store_id="S2").org_unit == tree.grid_b
    change = StageChange.objects.get(store=s1)
    assert change.source == StageSource.IMPORT
    assert change.to_stage == PartnerStage.COURTING


def test_sync_twice_changes_nothing(tree: factories.Tree, tmp_path: Path) -> None:
    # given a synced store file
    stores_in_tree(tree, tmp_path, store_line("S1", tree.grid_a.code, stage="拉郎配"))
    sync_stores()
    before = snapshot()
    # when it is synced again with the same warehouse
    report = sync_stores()
    # then nothing changed and no second stage record was written
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert snapshot() == before
    assert StageChange.objects.count() == 1


def test_store_no_longer_listed_becomes_inactive_and_comes_back(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given two synced stores
    stores_in_tree(
        tree, tmp_path, store_line("S1", tree.grid_a.code), store_line("S2", tree.grid_a.code)
    )
    sync_stores()
    # when the stores table is replaced by one that lists S1 only (an upsert keeps S2, so the
    # table is rewritten through the warehouse directly, as a full extract would)
    _rewrite_stores(tmp_path, tree, ["S1"])
    report = sync_stores()
    # then S2 is inactive, not deleted
    assert report.deactivated == 1
    assert Store.objects.get(store_id="S2").active is False
    assert Store.objects.filter(active=True).count() == 1
    # and listed again, it is active again
    load(tmp_path, stores=STORE_HEADER + store_line("S2", tree.grid_a.code))
    assert sync_stores().reactivated == 1
    assert Store.objects.get(store_id="S2").active is True


def _rewrite_stores(directory: Path, tree: factories.Tree, ids: list[str]) -> None:
    """The warehouse's stores table, keeping the stores `ids` only."""
    import duckdb

    from quanwang.data.schema import TABLES
    from quanwang.data.warehouse import Warehouse

    store = Warehouse()
    con = duckdb.connect()
    listed = ", ".join(f"'{i}'" for i in ids)
    source = store.relation("stores")
    con.execute(f"CREATE TABLE kept AS SELECT * FROM {source} WHERE store_id IN ({listed})")
    with store.lock("stores"):
        store.commit(
            con=con, table=TABLES["stores"], select_where=lambda c: f"SELECT * FROM kept WHERE {c}"
        )


def test_store_of_an_unknown_grid_goes_to_the_nearest_unit_above(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a grid the org tree lacks, in county A, and a grid in a county nobody knows
    load(
        tmp_path,
        grids=grids_csv(
            tree, f"NEW-G,新网格,沿街,{tree.county_a.code}\n", "LOST-G,孤网格,农村,NOPE\n"
        ),
        stores=STORE_HEADER
        + store_line("S1", "NEW-G")
        + store_line("S2", "LOST-G")
        + store_line("S3", ""),
    )
    # when synced
    sync_stores()
    # then the store of the new grid is in county A, the others at the root
    assert Store.objects.get(store_id="S1").org_unit == tree.county_a
    assert Store.objects.get(store_id="S2").org_unit == tree.province
    assert Store.objects.get(store_id="S3").org_unit == tree.province


def test_store_moves_when_its_grid_gets_an_org_unit(tree: factories.Tree, tmp_path: Path) -> None:
    # given a store synced while its grid had no org unit
    load(
        tmp_path,
        grids=grids_csv(tree, f"NEW-G,新网格,沿街,{tree.county_a.code}\n"),
        stores=STORE_HEADER + store_line("S1", "NEW-G"),
    )
    sync_stores()
    # when the grid's unit is created and the file synced again
    unit = factories.org_unit(code="NEW-G", parent=tree.county_a)
    sync_stores()
    # then the store is in the grid's unit
    assert Store.objects.get(store_id="S1").org_unit == unit


def test_console_stage_is_not_overwritten_by_a_later_import(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a store whose stage a user changed in the console
    stores_in_tree(tree, tmp_path, store_line("S1", tree.grid_a.code, stage="拉郎配"))
    sync_stores()
    store = Store.objects.get(store_id="S1")
    store.partner_stage = PartnerStage.SETTLED
    store.save()
    StageChange.objects.create(
        store=store, from_stage="拉郎配", to_stage="过日子", reason="签了年度协议"
    )
    # when the file is imported again with another stage
    load(tmp_path, stores=STORE_HEADER + store_line("S1", tree.grid_a.code, stage="谈恋爱"))
    sync_stores()
    # then the console's decision stands
    assert Store.objects.get(store_id="S1").partner_stage == PartnerStage.SETTLED


def test_file_grade_seeds_a_store_never_graded(tree: factories.Tree, tmp_path: Path) -> None:
    # given a store file with a grade
    stores_in_tree(tree, tmp_path, store_line("S1", tree.grid_a.code, grade="钉子店"))
    # when synced
    sync_stores()
    # then the store starts with that grade
    assert Store.objects.get(store_id="S1").grade == StoreGrade.ANCHOR


def test_sync_without_an_org_tree_says_so(db: None, tmp_path: Path) -> None:
    from quanwang.core.errors import ServiceError

    # given stores but no org unit at all
    load(tmp_path, stores=STORE_HEADER + store_line("S1", ""))
    assert not OrgUnit.objects.exists()
    # when synced, then the error says what to import first, and nothing is written
    with translation.override("en"), pytest.raises(ServiceError) as caught:
        sync_stores()
    assert "import the org units" in str(caught.value.message)
    assert not Store.objects.exists()


def test_sync_after_import_reports_for_the_import_job(tree: factories.Tree, tmp_path: Path) -> None:
    from quanwang.channels.stores.sync import sync_after_import

    # given an imported stores table, when the importer's hook runs
    stores_in_tree(tree, tmp_path, store_line("S1", tree.grid_a.code))
    with translation.override("en"):
        result = sync_after_import()
    # then the store file is synced and the job's result says so
    assert Store.objects.filter(store_id="S1").exists()
    assert result["store_file"].startswith("1 stores listed: 1 new")


def test_sync_after_import_does_not_fail_the_import(db: None, tmp_path: Path) -> None:
    from quanwang.channels.stores.sync import sync_after_import

    # given no org tree: the sync cannot run, and says why instead of failing the import
    load(tmp_path, stores=STORE_HEADER + store_line("S1", ""))
    with translation.override("en"):
        result = sync_after_import()
    assert "import the org units" in result["store_file"]
