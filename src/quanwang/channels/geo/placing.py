"""The assignment's result where every reader finds it: each placed table's current version in
the warehouse gets a grid-placed copy (data.warehouse.Warehouse.read_file), so the snapshot
and its wide table, the customer pages, the grid scorecards, the store file and the account
file all count a customer, store or enterprise in the grid its coordinates lie in.

- in a grid's polygon: that grid;
- no coordinates: the grid its file names (imported);
- coordinates outside every grid: the grid its file names too, so nobody drops out of every
  grid manager's reach; such points are on the unassigned list (channels.geo.views) to fix.

Imports merge into the imported rows, never the copy, and each import's new version has no
copy until the assignment runs again (after the import: job_handlers): readers see the
imported grids meanwhile.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from quanwang.channels.geo.choices import POINT_KEYS, How, PointKind
from quanwang.data.warehouse import (
    DEFAULT_ROW_GROUP,
    SMALL_ROW_GROUP,
    SMALL_ROW_GROUP_TABLES,
    ZSTD_LEVEL,
    Warehouse,
    sql_literal,
)

if TYPE_CHECKING:
    from quanwang.channels.geo.runs import Run


def _write_placed(target: Path, *, source: Path, parts: str, key: str, kind: PointKind) -> None:
    row_group = SMALL_ROW_GROUP if kind.value in SMALL_ROW_GROUP_TABLES else DEFAULT_ROW_GROUP
    con = duckdb.connect()
    try:
        # The imported file's row order is kept (its row groups are clustered for the
        # readers' filters); only grid_id changes.
        con.execute(
            f"""
            COPY (
                SELECT s.* EXCLUDE (file_row_number)
                       REPLACE (coalesce(p.grid_id, s.grid_id) AS grid_id)
                FROM read_parquet({sql_literal(str(source))}, file_row_number = true) s
                LEFT JOIN (
                    SELECT id, grid_id FROM read_parquet({sql_literal(parts)})
                    WHERE how = '{How.POLYGON.value}'
                ) p ON p.id = CAST(s.{key} AS VARCHAR)
                ORDER BY s.file_row_number
            ) TO {sql_literal(str(target))}
            (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {ZSTD_LEVEL},
             ROW_GROUP_SIZE {row_group})
            """
        )
    finally:
        con.close()


def place_in_warehouse(run: Run, *, store: Warehouse | None = None) -> list[str]:
    """Give each table the run placed a grid-placed copy; the tables given one. A table the run
    read from a version that is no longer current is left to the next run."""
    store = store or Warehouse()
    placed: list[str] = []
    for kind in PointKind:
        source = store.current_file(kind.value)
        parts = run.parts(kind)
        if source is None or parts is None:
            continue
        if run.manifest.get("sources", {}).get(kind.value) != source.parent.name:
            continue
        if not run.counts.get(kind.value, {}).get(How.POLYGON.value):
            # No boundary placed anything: the imported grids stand.
            store.drop_placed(kind.value)
            continue
        kept = store.keep_placed(
            kind.value,
            source=source,
            write=partial(
                _write_placed, source=source, parts=parts, key=POINT_KEYS[kind], kind=kind
            ),
        )
        if kept is not None:
            placed.append(kind.value)
    return placed
