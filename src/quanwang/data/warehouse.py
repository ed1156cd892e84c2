"""The embedded warehouse: each canonical table is a directory of immutable Parquet versions.

`<root>/<table>/<version>/data.parquet` is written in full, then `<root>/<table>/CURRENT` is
swapped to name it (an atomic rename). A reader sees the old version or the new one, never a
half-written one, and a process killed mid-import leaves the table as it was.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from django.conf import settings

from quanwang.data.schema import TABLES, ColumnType, Table

DUCKDB_TYPES = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INT: "BIGINT",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.MONEY: "DOUBLE",  # yuan, rounded to fen on import
    ColumnType.DATE: "DATE",
    ColumnType.BOOL: "BOOLEAN",
}


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scalar_int(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The single whole number a query returns, such as a count."""
    return int(con.sql(sql).fetchall()[0][0])


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Rows clustered by subscriber let a one-customer lookup skip most row groups. Smaller groups
# help the tables looked up by one row; on the largest tables they cost more than they save
# (measured on the 1M-subscriber city: bench/bench_customer360.py).
SMALL_ROW_GROUP_TABLES = frozenset({"subscribers", "recharges", "complaints"})
SMALL_ROW_GROUP, DEFAULT_ROW_GROUP = 16_384, 122_880


def clustering(table: Table) -> tuple[str, ...]:
    """The write order: by subscriber first where the table has one, then by key."""
    if "subscriber_id" in table.by_name and table.key[0] != "subscriber_id":
        return ("subscriber_id", *table.key)
    return table.key


class Warehouse:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or Path(settings.VAR_DIR) / "warehouse")
        self.root.mkdir(parents=True, exist_ok=True)

    def _table_dir(self, table: str) -> Path:
        if table not in TABLES:
            raise KeyError(table)
        return self.root / table

    def current_file(self, table: str) -> Path | None:
        pointer = self._table_dir(table) / "CURRENT"
        if not pointer.exists():
            return None
        return self._table_dir(table) / pointer.read_text(encoding="utf-8").strip() / "data.parquet"

    def relation(self, table: str) -> str:
        """SQL for the table's current rows, typed; an empty typed relation before any load."""
        current = self.current_file(table)
        if current is not None:
            return f"read_parquet({sql_literal(str(current))})"
        columns = ", ".join(
            f"CAST(NULL AS {DUCKDB_TYPES[c.type]}) AS {quote(c.name)}"
            for c in TABLES[table].columns
        )
        return f"(SELECT {columns} WHERE false)"

    def count(self, table: str) -> int:
        return scalar_int(duckdb.connect(), f"SELECT count(*) FROM {self.relation(table)}")

    @contextmanager
    def lock(self, table: str) -> Iterator[None]:
        """One writer per table at a time, across processes."""
        directory = self._table_dir(table)
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def commit(self, *, con: duckdb.DuckDBPyConnection, table: Table, select_sql: str) -> str:
        """Write `select_sql` as the table's next version and make it current. Call under lock."""
        directory = self._table_dir(table.name)
        version = datetime.now(UTC).strftime("v%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:8]
        staging = directory / f".{version}.tmp"
        staging.mkdir(parents=True)
        try:
            target = staging / "data.parquet"
            order = ", ".join(quote(k) for k in clustering(table))
            small = table.name in SMALL_ROW_GROUP_TABLES
            row_group = SMALL_ROW_GROUP if small else DEFAULT_ROW_GROUP
            # zstd level 1: files the same size as the default level 3 (dictionary encoding
            # does most of the work; 110 MiB for 12M usage rows either way), written about 10%
            # faster, and read as fast.
            con.execute(
                f"COPY (SELECT * FROM ({select_sql}) ORDER BY {order}) "
                f"TO {sql_literal(str(target))} "
                f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, "
                f"ROW_GROUP_SIZE {row_group})"
            )
            staging.rename(directory / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        pointer_tmp = directory / f".CURRENT.{uuid.uuid4().hex}"
        pointer_tmp.write_text(version, encoding="utf-8")
        with pointer_tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(pointer_tmp, directory / "CURRENT")
        self._prune(directory, keep=settings.QUANWANG_WAREHOUSE_KEEP)
        return version

    @staticmethod
    def _prune(directory: Path, *, keep: int) -> None:
        """Drop all but the newest `keep` versions, and what killed writers left. Call under lock.

        Readers hold a version for one query, so the previous one or two are enough to keep.
        """
        for leftover in directory.glob(".v*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in directory.glob(".CURRENT.*"):
            leftover.unlink(missing_ok=True)
        current = (directory / "CURRENT").read_text(encoding="utf-8").strip()
        older = sorted(
            p
            for p in directory.iterdir()
            if p.is_dir() and p.name.startswith("v") and p.name != current
        )
        for old in older[: max(0, len(older) - (keep - 1))]:
            shutil.rmtree(old, ignore_errors=True)
