"""The warehouse's versions on disk: the current one always stays, old ones are pruned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse


def _commit_plans(store: Warehouse, fee: int) -> str:
    con = duckdb.connect()
    return store.commit(
        con=con,
        table=TABLES["plans"],
        select_where=lambda where: (
            f"SELECT * FROM (SELECT 'P1' AS plan_id, 'p' AS name, 'prepaid' AS plan_type, "
            f"{fee}.0 AS monthly_fee) WHERE {where}"
        ),
    )


def test_only_the_newest_versions_are_kept_and_the_current_one_is_read(
    tmp_path: Path, settings: Any
) -> None:
    # Given a warehouse that keeps two versions
    settings.QUANWANG_WAREHOUSE_KEEP = 2
    store = Warehouse(tmp_path / "wh")

    # When a table is committed four times
    versions = [_commit_plans(store, fee) for fee in (10, 20, 30, 40)]

    # Then the last two versions are on disk and the table reads the last one
    on_disk = sorted(p.name for p in (tmp_path / "wh" / "plans").iterdir() if p.is_dir())
    assert on_disk == sorted(versions[-2:])
    fee = duckdb.sql(f"SELECT monthly_fee FROM {store.relation('plans')}").fetchall()
    assert fee == [(40.0,)]


def test_what_a_killed_writer_left_is_removed_at_the_next_commit(tmp_path: Path) -> None:
    # Given a half-written version left by a killed import
    store = Warehouse(tmp_path / "wh")
    _commit_plans(store, 10)
    leftover = tmp_path / "wh" / "plans" / ".v20240101T000000000000-dead.tmp"
    leftover.mkdir()
    (leftover / "data.parquet").write_bytes(b"partial")

    # When the next import commits
    _commit_plans(store, 20)

    # Then the leftover is gone
    assert not leftover.exists()
