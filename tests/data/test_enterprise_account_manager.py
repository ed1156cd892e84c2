"""enterprises.account_manager_employee_no: optional, so older exports and older warehouses
still load."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.data.importer import import_file
from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse

OLD_HEADER = "enterprise_id,name,industry,size,grade\n"
NEW_HEADER = "enterprise_id,name,industry,size,grade,account_manager_employee_no\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _managers() -> list[tuple[str, str | None]]:
    relation = Warehouse().relation("enterprises")
    return duckdb.execute(
        f"SELECT enterprise_id, account_manager_employee_no FROM {relation} ORDER BY 1"
    ).fetchall()


def test_the_account_manager_is_an_optional_column_with_both_labels() -> None:
    column = TABLES["enterprises"].by_name["account_manager_employee_no"]

    assert not column.required
    assert (column.zh, column.en) == ("客户经理工号", "Account manager employee no.")
    assert column.pii is None


def test_an_export_without_the_account_manager_column_loads_with_none(
    db: None, tmp_path: Path
) -> None:
    # Given an older export: no account manager column
    old = OLD_HEADER + "ENT1,广州某银行,金融,500,A\n"

    # When it is imported
    report = import_file(table_name="enterprises", path=_write(tmp_path, "old.csv", old))

    # Then it loads, and no enterprise has an account manager
    assert report.loaded == 1
    assert _managers() == [("ENT1", None)]


def test_an_export_with_account_managers_loads_them_by_their_chinese_header(
    db: None, tmp_path: Path
) -> None:
    # Given an export whose header is the Chinese labels
    text = (
        "集团编码,集团名称,行业,客户经理工号\nENT1,广州某银行,金融,E100031\nENT2,广州某物流,物流,\n"
    )

    # When it is imported
    import_file(table_name="enterprises", path=_write(tmp_path, "zh.csv", text))

    # Then each enterprise has the manager given, or none
    assert _managers() == [("ENT1", "E100031"), ("ENT2", None)]


def test_a_newer_extract_upserts_onto_a_table_stored_before_the_column_existed(
    db: None, tmp_path: Path
) -> None:
    # Given an enterprises table stored by a version without the account manager column
    import_file(
        table_name="enterprises",
        path=_write(tmp_path, "a.csv", OLD_HEADER + "ENT1,广州某银行,金融,500,A\n"),
    )
    stored = Warehouse().current_file("enterprises")
    assert stored is not None
    pq.write_table(pq.read_table(stored).drop_columns(["account_manager_employee_no"]), stored)

    # When a newer extract with an account manager is upserted
    newer = NEW_HEADER + "ENT2,广州某物流,物流,80,C,E100032\n"
    report = import_file(table_name="enterprises", path=_write(tmp_path, "b.csv", newer))

    # Then the old row is kept without a manager, the new one with its manager
    assert report.loaded == 1
    assert _managers() == [("ENT1", None), ("ENT2", "E100032")]
