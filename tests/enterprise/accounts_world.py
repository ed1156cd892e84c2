"""Warehouse tables for the accounts part's tests, written straight into the warehouse (a full
extract replaces the table, as the nightly load of a CRM export would), so a test can give
the sync data the importer would refuse (a hierarchy with a cycle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse
from tests import factories


def put(directory: Path, **tables: list[dict[str, Any]]) -> None:
    """Replace each warehouse table with `records` (columns not given are NULL)."""
    files = factories.canonical_files(directory, **tables)
    store = Warehouse()
    for name, path in files.items():
        con = duckdb.connect()
        con.execute(f"CREATE TABLE kept AS SELECT * FROM read_parquet('{path}')")
        with store.lock(name):
            store.commit(
                con=con, table=TABLES[name], select_where=lambda c: f"SELECT * FROM kept WHERE {c}"
            )
        con.close()


def grids(tree: factories.Tree) -> list[dict[str, Any]]:
    return [
        {"grid_id": tree.grid_a.code, "name": "甲网格", "grid_type": "沿街",
         "county_code": tree.county_a.code},
        {"grid_id": tree.grid_b.code, "name": "乙网格", "grid_type": "行业",
         "county_code": tree.county_b.code},
    ]  # fmt: skip


def enterprise(
    eid: str, grid: str, *, parent: str | None = None, size: int = 50, **extra: Any
) -> dict[str, Any]:
    return {
        "enterprise_id": eid,
        "name": extra.pop("name", f"集团{eid}"),
        "industry": extra.pop("industry", "制造业"),
        "size": size,
        "grid_id": grid,
        "grade": extra.pop("grade", "C"),
        "parent_enterprise_id": parent,
        "status": extra.pop("status", "正常"),
        **extra,
    }
