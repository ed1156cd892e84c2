"""The embedded warehouse: each canonical table is a directory of immutable Parquet versions.

`<root>/<table>/<version>/data.parquet` is written in full, then `<root>/<table>/CURRENT` is
swapped to name it (an atomic rename). A reader sees the old version or the new one, never a
half-written one, and a process killed mid-import leaves the table as it was.

A version's rejected rows, `<quarantine>/<table>-<version>.csv`, are written before the
version is made current and pruned with it.
"""

from __future__ import annotations

import fcntl
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq  # type: ignore[import-untyped]
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
# A version's grid-placed copy (Warehouse.read_file): placed-<version>.parquet, named by the
# pointer file.
PLACED_PREFIX = "placed-"
PLACED_POINTER = "PLACED"
SMALL_ROW_GROUP_TABLES = frozenset({"subscribers", "recharges", "complaints"})
SMALL_ROW_GROUP, DEFAULT_ROW_GROUP = 16_384, 122_880
# A table of more than two ranges' rows is sorted range by range (see `_write_in_ranges`), each
# about RANGE_ROWS rows, at most MAX_RANGES (each range scans the whole table once): one sort of
# 12M usage rows (1.2 GB in DuckDB's row layout) spills past the 1 GB import memory and took
# 4.3-5.8 s with the write; twelve in-memory sorts, 2.8-3.4 s (docs/benchmarks.md).
RANGE_ROWS = 1_000_000
MAX_RANGES = 16
# Batches of sorted rows waiting for the Parquet writer while the next range sorts.
QUEUED_BATCHES = 8
ZSTD_LEVEL = 1


def clustering(table: Table) -> tuple[str, ...]:
    """The write order: by subscriber first where the table has one, then by key."""
    if "subscriber_id" in table.by_name and table.key[0] != "subscriber_id":
        return ("subscriber_id", *table.key)
    return table.key


def new_version() -> str:
    """A version name: sorts by the time it was made (UTC, to the microsecond)."""
    return datetime.now(UTC).strftime("v%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:8]


class Warehouse:
    def __init__(self, root: Path | None = None, quarantine_dir: Path | None = None) -> None:
        """`quarantine_dir`: where this warehouse's versions keep their rejected rows. The
        default warehouse's is `<VAR_DIR>/quarantine`; one at another root has none unless
        named (its versions must not prune files another warehouse's versions own)."""
        self.root = Path(root or Path(settings.VAR_DIR) / "warehouse")
        self.root.mkdir(parents=True, exist_ok=True)
        if quarantine_dir is None and root is None:
            quarantine_dir = Path(settings.VAR_DIR) / "quarantine"
        self.quarantine_dir = quarantine_dir

    def quarantine_file(self, table: str, version: str) -> Path | None:
        """Where the rejected rows of `version` of `table` go (None: this warehouse keeps none)."""
        if self.quarantine_dir is None:
            return None
        return self.quarantine_dir / f"{table}-{version}.csv"

    def _table_dir(self, table: str) -> Path:
        if table not in TABLES:
            raise KeyError(table)
        return self.root / table

    def current_file(self, table: str) -> Path | None:
        pointer = self._table_dir(table) / "CURRENT"
        if not pointer.exists():
            return None
        return self._table_dir(table) / pointer.read_text(encoding="utf-8").strip() / "data.parquet"

    def read_file(self, table: str) -> Path | None:
        """The file readers use: the current version's grid-placed copy when the nightly grid
        assignment wrote one (channels.geo: the same rows and columns, grid_id from the
        grid polygons), else the imported rows. Imports merge into `current_file`, never
        this, so an imported grid is never lost to a placement."""
        current = self.current_file(table)
        if current is None:
            return None
        try:
            name = (current.parent / PLACED_POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return current
        placed = current.parent / name
        return placed if placed.exists() else current

    def keep_placed(
        self, table: str, *, source: Path, write: Callable[[Path], None]
    ) -> Path | None:
        """Write a grid-placed copy of `source` (a version's data.parquet of `table`) with
        `write(target)` and make it the file readers use. Written beside the version and
        pointed to last, so a reader sees the old copy or the new one, never half; when an
        import made `source` old meanwhile, or pruned it, nothing is kept (None)."""
        folder = source.parent
        if self._table_dir(table) != folder.parent or not folder.exists():
            return None
        target = folder / f"{PLACED_PREFIX}{new_version()}.parquet"
        temporary = folder / f".{target.name}.tmp"
        try:
            write(temporary)
            os.replace(temporary, target)
            pointer = folder / f".{PLACED_POINTER}.{target.stem}"
            pointer.write_text(target.name, encoding="utf-8")
            os.replace(pointer, folder / PLACED_POINTER)
        except FileNotFoundError:
            # The version was pruned under us: a newer import is current.
            temporary.unlink(missing_ok=True)
            return None
        # A reader may still hold the copy before: keep one.
        for old in sorted(folder.glob(f"{PLACED_PREFIX}*.parquet"))[:-2]:
            old.unlink(missing_ok=True)
        return target

    def drop_placed(self, table: str) -> None:
        """Readers go back to the imported rows (no grid has a boundary any more)."""
        current = self.current_file(table)
        if current is not None:
            (current.parent / PLACED_POINTER).unlink(missing_ok=True)

    def relation(self, table: str) -> str:
        """SQL for the table's current rows (grid-placed where the nightly assignment placed
        them: `read_file`), typed; an empty typed relation before any load."""
        current = self.read_file(table)
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

    def commit(
        self,
        *,
        con: duckdb.DuckDBPyConnection,
        table: Table,
        select_where: Callable[[str], str],
        rows: int = 0,
        version: str | None = None,
    ) -> str:
        """Write the table's next version, in clustering order, and make it current. Call under
        lock.

        `select_where(condition)` is SQL for its rows that meet an SQL condition ("true" for all
        of them); `rows`, where known, about how many there are in all (0: not known).
        `version`: its name, from `new_version()`, where something (its rejected rows) must be
        written under that name before it is committed.
        """
        directory = self._table_dir(table.name)
        version = version or new_version()
        staging = directory / f".{version}.tmp"
        staging.mkdir(parents=True)
        try:
            target = staging / "data.parquet"
            small = table.name in SMALL_ROW_GROUP_TABLES
            row_group = SMALL_ROW_GROUP if small else DEFAULT_ROW_GROUP
            in_ranges = rows > 2 * RANGE_ROWS
            if not (
                in_ranges
                and _write_in_ranges(
                    con=con,
                    table=table,
                    select_where=select_where,
                    target=target,
                    rows=rows,
                    row_group=row_group,
                )
            ):
                order = ", ".join(quote(k) for k in clustering(table))
                # zstd level 1: files the same size as the default level 3 (dictionary encoding
                # does most of the work; 110 MiB for 12M usage rows either way), written about
                # 10% faster, and read as fast.
                con.execute(
                    f"COPY (SELECT * FROM ({select_where('true')}) ORDER BY {order}) "
                    f"TO {sql_literal(str(target))} "
                    f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {ZSTD_LEVEL}, "
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

    def _prune(self, directory: Path, *, keep: int) -> None:
        """Drop all but the newest `keep` versions with their rejected rows, and what killed
        writers left. Call under lock.

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
        self._prune_quarantine(directory.name, current=current)

    def _prune_quarantine(self, table: str, *, current: str) -> None:
        """Remove the rejected rows of versions no longer on disk: pruned ones, and those of
        imports killed between writing their rejected rows and committing (older than the
        current version, since writers hold the table's lock from one to the other)."""
        if self.quarantine_dir is None or not self.quarantine_dir.is_dir():
            return
        kept = {p.name for p in (self.root / table).iterdir() if p.is_dir()}
        for path in self.quarantine_dir.glob(f"{table}-v*.csv"):
            version = path.name.removeprefix(f"{table}-").removesuffix(".csv")
            if version not in kept and version < current:
                path.unlink(missing_ok=True)
        # Half-written ones (core.tabular.private_file writes beside the target, then renames).
        for partial in self.quarantine_dir.glob(f".{table}-v*.csv.*.part"):
            partial.unlink(missing_ok=True)


def _write_in_ranges(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    select_where: Callable[[str], str],
    target: Path,
    rows: int,
    row_group: int,
) -> bool:
    """Write the rows of `select_where` to `target` in clustering order, sorting one range of
    the first clustering column at a time; False (nothing written) where there are none.

    Each range's sort fits in memory where one sort of the whole table would spill, and the
    ranges, written one after the other, make the same file order as one sort. DuckDB sorts
    the next range while this thread encodes the last one's rows with pyarrow's writer.
    """
    order = clustering(table)
    first = quote(order[0])
    source = f"({select_where(f'{first} IS NOT NULL')})"
    ranges = min(MAX_RANGES, -(-rows // RANGE_ROWS))
    # Bounds from a sample of at least 1% (about 100 rows a range): a skewed one only makes
    # some ranges larger than others, and the file is the same whatever the bounds.
    percent = min(100.0, max(1.0, 10_000 * ranges / rows))
    found = con.execute(
        f"SELECT quantile_disc({first}, [{', '.join(str(i / ranges) for i in range(1, ranges))}]) "
        f"FROM (SELECT {first} FROM {source} USING SAMPLE {percent} PERCENT (bernoulli))"
    ).fetchall()
    bounds = sorted(set(found[0][0] or []))
    # Rows whose first clustering value is NULL sort last, so they go with the last range.
    pieces: list[tuple[str, dict[str, Any]]] = [("true", {})]
    if bounds:
        pieces = [(f"{first} < $hi", {"hi": bounds[0]})]
        pieces += [
            (f"{first} >= $lo AND {first} < $hi", {"lo": lo, "hi": hi})
            for lo, hi in pairwise(bounds)
        ]
        pieces.append((f"({first} >= $lo OR {first} IS NULL)", {"lo": bounds[-1]}))
    sort = ", ".join(quote(k) for k in order)
    batches: queue.Queue[Any] = queue.Queue(maxsize=QUEUED_BATCHES)
    stop = threading.Event()
    failure: list[BaseException] = []

    def offer(batch: Any) -> bool:
        """Queue a batch, waiting for room; False once the writer has stopped."""
        while not stop.is_set():
            try:
                batches.put(batch, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for condition, values in pieces:
                cursor = con.cursor()
                try:
                    reader = cursor.sql(
                        f"SELECT * FROM ({select_where(condition)}) ORDER BY {sort}",
                        params=values,
                    ).to_arrow_reader(row_group)
                    for batch in reader:
                        if not offer(batch):
                            return
                finally:
                    cursor.close()
        except BaseException as exc:  # re-raised in the writing thread
            failure.append(exc)
        finally:
            batches.put(None)

    producer = threading.Thread(target=produce, name="range-sort", daemon=True)
    producer.start()
    writer = None
    try:
        while (batch := batches.get()) is not None:
            if writer is None:
                writer = pq.ParquetWriter(
                    target, batch.schema, compression="zstd", compression_level=ZSTD_LEVEL
                )
            writer.write_batch(batch, row_group_size=row_group)
    finally:
        stop.set()
        while producer.is_alive():
            try:
                batches.get(timeout=0.1)
            except queue.Empty:
                continue
        producer.join()
        if writer is not None:
            writer.close()
    if failure:
        raise failure[0]
    return writer is not None
