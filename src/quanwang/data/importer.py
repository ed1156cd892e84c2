"""Importing a file into a canonical table: stage, map, convert, validate, quarantine, commit.

Good rows load; bad rows go to a quarantine CSV with file, row, column, value and the reason in
Chinese and English. The table changes in one atomic step or not at all, and importing the same
file twice gives the same table.
"""

from __future__ import annotations

import bisect
import csv
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings
from django.utils.translation import gettext_lazy

from quanwang.data.mapping import ColumnSource, CompiledMapping, MappingError, compile_mapping
from quanwang.data.schema import TABLES, Column, ColumnType, LoadMode, Table
from quanwang.data.sources import SourceError, malformed_lines, open_source
from quanwang.data.warehouse import DUCKDB_TYPES, Warehouse, quote, scalar_int, sql_literal

# Key hashes one duplicate check may group at once within the memory limit; larger files are
# split into parts by hash value.
DUPLICATE_CHECK_ROWS = 8_000_000
# Source files larger than this are checked in a scratch database on disk rather than in memory.
IN_MEMORY_SOURCE_BYTES = 1 << 30

Progress = Callable[["Stage", int, int | None], None]

TRUE_WORDS = ("1", "true", "t", "yes", "y", "是", "√", "on")
FALSE_WORDS = ("0", "false", "f", "no", "n", "否", "×", "off")
TYPE_NAMES = {
    ColumnType.STRING: ("文本", "text"),
    ColumnType.INT: ("整数", "a whole number"),
    ColumnType.FLOAT: ("数值", "a number"),
    ColumnType.MONEY: ("金额", "an amount"),
    ColumnType.DATE: ("日期", "a date (2024-01-05, 2024/1/5, 20240105 or an Excel serial)"),
    ColumnType.BOOL: ("是/否", "yes/no"),
}


class Reject(StrEnum):
    """Why a value or row was set aside; the code in the quarantine file's reason_code."""

    REQUIRED = "required"
    TYPE = "type"
    CHOICE = "choice"
    RANGE = "range"
    FUTURE = "future"
    DUPLICATE = "duplicate"
    REFERENCE = "reference"
    ENCODING = "encoding"
    MALFORMED = "malformed"


REJECT_LABELS = {
    Reject.REQUIRED: gettext_lazy("Required value missing"),
    Reject.TYPE: gettext_lazy("Wrong type"),
    Reject.CHOICE: gettext_lazy("Not an allowed value"),
    Reject.RANGE: gettext_lazy("Out of range"),
    Reject.FUTURE: gettext_lazy("Date in the future"),
    Reject.DUPLICATE: gettext_lazy("Duplicate key"),
    Reject.REFERENCE: gettext_lazy("Refers to a missing record"),
    Reject.ENCODING: gettext_lazy("Wrong text encoding"),
    Reject.MALFORMED: gettext_lazy("Malformed row"),
}


class Stage(StrEnum):
    READING = "reading"
    VALIDATING = "validating"
    WRITING = "writing"


class ImportFailed(Exception):
    """Nothing was loaded; the message names the file and, where it can, the row and column."""


@dataclass
class ImportReport:
    table: str
    file: str
    rows_read: int
    loaded: int
    quarantined: int
    by_reason: dict[str, int]
    seconds: float
    version: str = ""
    quarantine_file: str = ""
    unused_columns: list[str] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        return asdict(self)


def _number(text: str) -> str:
    # The plain cast first (it allows surrounding spaces): the clean-up of separators and
    # currency signs only runs for values the plain cast rejects.
    cleaned = f"regexp_replace({text}, '[,，¥￥元\\s]', '', 'g')"
    return f"COALESCE(TRY_CAST({text} AS DOUBLE), TRY_CAST({cleaned} AS DOUBLE))"


def _one_of(sql: str, values: tuple[str, ...]) -> str:
    # A chain of comparisons: DuckDB plans a long IN (...) as a join, far slower per column.
    cases = " ".join(f"WHEN {sql_literal(v)} THEN true" for v in values)
    return f"(CASE {sql} {cases} ELSE false END)"


def _trimmed(text: str) -> str:
    return f"NULLIF(trim({text}), '')"


def _typed(column: Column, source: ColumnSource, text: str) -> str:
    """SQL turning the source text into the column's type; NULL where it cannot."""
    kind = column.type
    if kind is ColumnType.STRING:
        return _trimmed(text)
    if kind is ColumnType.INT:
        n = _number(text)
        return f"(CASE WHEN {n} = floor({n}) THEN CAST({n} AS BIGINT) END)"
    if kind is ColumnType.FLOAT:
        return _number(text)
    if kind is ColumnType.MONEY:
        if source.unit == "fen":
            return f"round({_number(text)} / 100.0, 2)"
        return f"round({_number(text)}, 2)"
    v = _trimmed(text)
    if kind is ColumnType.BOOL:
        return (
            f"(CASE WHEN {_one_of(f'lower({v})', TRUE_WORDS)} THEN true "
            f"WHEN {_one_of(f'lower({v})', FALSE_WORDS)} THEN false END)"
        )
    serial = (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') "
        f"THEN DATE '1899-12-30' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) END"
    )
    formats = ("%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y.%m.%d")
    parsed = ", ".join(f"CAST(TRY_STRPTIME({v}, '{f}') AS DATE)" for f in formats)
    return f"COALESCE(TRY_CAST({text} AS DATE), {parsed}, {serial})"


def _error(column: Column, text: str, typed: str) -> str:
    """SQL naming the first rule this value breaks (a reason code), or NULL.

    Only a value that did not convert is trimmed to tell an empty one from a wrong one.
    """
    empty = "'" + Reject.REQUIRED + "'" if column.required else "NULL"
    checks = [
        f"WHEN {typed} IS NULL AND {_trimmed(text)} IS NULL THEN {empty}",
        f"WHEN {typed} IS NULL THEN '{Reject.TYPE}'",
    ]
    if column.choices:
        allowed = _one_of(f"CAST({typed} AS VARCHAR)", column.choices)
        checks.append(f"WHEN NOT {allowed} THEN '{Reject.CHOICE}'")
    if column.minimum is not None:
        checks.append(f"WHEN {typed} < {column.minimum} THEN '{Reject.RANGE}'")
    if column.maximum is not None:
        checks.append(f"WHEN {typed} > {column.maximum} THEN '{Reject.RANGE}'")
    if column.not_future:
        checks.append(f"WHEN {typed} > current_date THEN '{Reject.FUTURE}'")
    return "(CASE " + " ".join(checks) + " END)"


def reason_text(code: Reject, column: Column | None, detail: str = "") -> tuple[str, str]:
    """The reason for a rejected value, in Chinese and English."""
    if code is Reject.REQUIRED:
        return "必填字段为空", "required value is empty"
    if code is Reject.TYPE and column is not None:
        zh, en = TYPE_NAMES[column.type]
        return f"不是有效的{zh}", f"not {en}"
    if code is Reject.CHOICE and column is not None:
        allowed = "/".join(column.choices)
        return f"不在允许值内（{allowed}）", f"not one of {allowed}"
    if code is Reject.RANGE and column is not None:
        return (
            f"超出范围 [{column.minimum}, {column.maximum}]",
            f"out of range [{column.minimum}, {column.maximum}]",
        )
    if code is Reject.FUTURE:
        return "日期晚于今天", "date is in the future"
    if code is Reject.DUPLICATE:
        return f"键与第 {detail} 行重复", f"duplicate key of row {detail}"
    if code is Reject.REFERENCE:
        return f"引用的记录不存在（{detail}）", f"refers to a missing record ({detail})"
    if code is Reject.ENCODING:
        return (
            "不是有效的 UTF-8 文本，请用 --encoding gbk 等指定文件编码",
            "not valid UTF-8 text; name the file's encoding, e.g. --encoding gbk",
        )
    if code is Reject.MALFORMED:
        return f"行格式错误：{detail}", f"malformed row: {detail}"
    return str(code), str(code)


def import_file(
    *,
    table_name: str,
    path: Path,
    mapping: dict[str, Any] | None = None,
    encoding: str | None = None,
    warehouse: Warehouse | None = None,
    progress: Progress | None = None,
    quarantine_dir: Path | None = None,
) -> ImportReport:
    table = TABLES[table_name]
    store = warehouse or Warehouse()
    started = time.monotonic()
    notify = progress or (lambda _stage, _done, _total: None)
    work_dir = Path(tempfile.mkdtemp(prefix="import-", dir=Path(settings.VAR_DIR)))
    try:
        # Up to a size, an in-memory database that spills to work_dir; beyond it, a scratch
        # database file whose tables live on disk with the memory limit as their cache (in
        # memory, 90M rows pinned the whole limit and the duplicate check could not run).
        large = path.is_file() and path.stat().st_size > IN_MEMORY_SOURCE_BYTES
        con = duckdb.connect(str(work_dir / "import.duckdb") if large else ":memory:")
        con.execute(f"SET temp_directory = {sql_literal(str(work_dir / 'spill'))}")
        con.execute(f"SET memory_limit = '{settings.QUANWANG_IMPORT_MEMORY}'")
        notify(Stage.READING, 0, None)
        try:
            source = open_source(path=path, encoding=encoding, work_dir=work_dir)
        except SourceError as exc:
            raise ImportFailed(str(exc)) from exc
        compiled = _compile(table=table, staged_columns=source.columns, mapping=mapping, path=path)
        try:
            _check(con=con, table=table, sources=compiled.sources, relation=source.relation)
        except duckdb.Error as exc:
            if "unicode" in str(exc).lower():
                raise ImportFailed(
                    f"{path.name}: the file is not valid UTF-8 throughout; "
                    "name its encoding, e.g. --encoding gbk"
                ) from exc
            raise ImportFailed(f"{path.name}: {str(exc).splitlines()[0]}") from exc
        malformed = malformed_lines(con) if source.is_csv else []
        rows = scalar_int(con, "SELECT count(*) FROM checked")
        # Row order is fixed now (the rowid of `checked`); letting DuckDB reorder from here on
        # is what allows its aggregates and joins to spill within the memory limit.
        con.execute("SET preserve_insertion_order = false")
        notify(Stage.VALIDATING, 0, rows)
        with store.lock(table.name):
            _find_bad_rows(con=con, table=table, store=store, rows=rows)
            rejects = _collect_rejects(con=con, table=table, malformed=malformed)
            notify(Stage.WRITING, rows, rows)
            loaded = rows - scalar_int(con, "SELECT count(*) FROM bad_rows")
            version = store.commit(con=con, table=table, select_sql=_merged(table, store))
        by_reason: dict[str, int] = {}
        for _row, _col, _val, code, _zh, _en in rejects:
            by_reason[code] = by_reason.get(code, 0) + 1
        quarantine_file = ""
        if rejects:
            target_dir = quarantine_dir or Path(settings.VAR_DIR) / "quarantine"
            target = target_dir / f"{table.name}-{version}.csv"
            _write_quarantine(target, path.name, rejects)
            quarantine_file = str(target)
        return ImportReport(
            table=table.name,
            file=path.name,
            rows_read=rows + len({r for r, _ in malformed}),
            loaded=loaded,
            quarantined=len({r[0] for r in rejects}),
            by_reason=by_reason,
            seconds=round(time.monotonic() - started, 3),
            version=version,
            quarantine_file=quarantine_file,
            unused_columns=compiled.unused,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _compile(
    *, table: Table, staged_columns: list[str], mapping: dict[str, Any] | None, path: Path
) -> CompiledMapping:
    try:
        compiled = compile_mapping(table=table, source_columns=staged_columns, spec=mapping)
    except MappingError as exc:
        raise ImportFailed(f"{path.name}: mapping: {exc}") from exc
    missing = [c.name for c in table.columns if c.required and c.name not in compiled.sources]
    if missing:
        labels = ", ".join(f"{n} ({table.by_name[n].zh})" for n in missing)
        raise ImportFailed(f"{path.name}: row 1 has no column for required {labels}")
    return compiled


def _check(
    *, con: duckdb.DuckDBPyConnection, table: Table, sources: dict[str, ColumnSource], relation: str
) -> None:
    """One scan of the file into `checked`: each value typed, its first broken rule, and its text
    where it broke one. Each layer names the previous one's results so nothing is computed twice.
    """
    texts, typed, errors, kept = [], [], [], []
    for column in table.columns:
        name, v, e = quote(column.name), quote("_v_" + column.name), quote("_e_" + column.name)
        source = sources.get(column.name)
        if source is None:
            texts.append(f"CAST(NULL AS VARCHAR) AS {v}")
            typed.append(f"CAST(NULL AS {DUCKDB_TYPES[column.type]}) AS {name}, {v}")
        else:
            texts.append(f"CAST({source.sql} AS VARCHAR) AS {v}")
            typed.append(f"{_typed(column, source, v)} AS {name}, {v}")
        errors.append(f"{name}, {v}, {_error(column, v, name)} AS {e}")
        kept.append(f"{name}, {e}, CASE WHEN {e} IS NOT NULL THEN {v} END AS {v}")
    scan = f"SELECT {', '.join(texts)} FROM {relation} AS raw"
    layered = f"SELECT {', '.join(typed)} FROM ({scan})"
    layered = f"SELECT {', '.join(errors)} FROM ({layered})"
    con.execute(f"CREATE TABLE checked AS SELECT {', '.join(kept)} FROM ({layered})")


def _find_bad_rows(
    *, con: duckdb.DuckDBPyConnection, table: Table, store: Warehouse, rows: int
) -> None:
    """`errors`, `duplicates`, `_ref_<column>` and their union `bad_rows`, by rowid of `checked`."""
    flags = " OR ".join(f"{quote('_e_' + c.name)} IS NOT NULL" for c in table.columns)
    con.execute(f"CREATE TABLE errors AS SELECT rowid AS rid, * FROM checked WHERE {flags}")
    keys = ", ".join(quote(k) for k in table.key)
    # First the key hashes that repeat, then the exact keys of only those rows (where a hash
    # collision drops out).
    _repeated_hashes(con=con, keys=keys, rows=rows)
    present = " AND ".join(f"{quote(k)} IS NOT NULL" for k in table.key)
    con.execute(
        f"CREATE TABLE duplicates AS SELECT rid, first_rid FROM (SELECT rid, "
        f"min(rid) OVER (PARTITION BY {keys}) AS first_rid FROM (SELECT rowid AS rid, {keys} "
        f"FROM checked WHERE {present} AND hash({keys}) IN (SELECT h FROM repeated_hashes))) "
        "WHERE rid <> first_rid"
    )
    bad = ["SELECT rid FROM errors", "SELECT rid FROM duplicates"]
    for column in table.columns:
        if column.references is None:
            continue
        ref_table, ref_column = column.references
        pool = store.relation(ref_table)
        if ref_table == table.name:
            pool = f"(SELECT {quote(ref_column)} FROM checked UNION ALL SELECT {quote(ref_column)} FROM {pool})"
        con.execute(
            f"CREATE TABLE {quote('_ref_' + column.name)} AS SELECT c.rowid AS rid FROM checked c "
            f"WHERE c.{quote(column.name)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {pool} p "
            f"WHERE p.{quote(ref_column)} = c.{quote(column.name)})"
        )
        bad.append(f"SELECT rid FROM {quote('_ref_' + column.name)}")
    con.execute("CREATE TABLE bad_rows AS " + " UNION ".join(bad))
    columns = ", ".join(quote(c.name) for c in table.columns)
    if scalar_int(con, "SELECT count(*) FROM bad_rows") == 0:
        con.execute(f"CREATE VIEW good AS SELECT {columns} FROM checked")
    else:
        con.execute(
            f"CREATE VIEW good AS SELECT {columns} FROM checked c "
            "ANTI JOIN bad_rows b ON c.rowid = b.rid"
        )


def _repeated_hashes(*, con: duckdb.DuckDBPyConnection, keys: str, rows: int) -> None:
    """`repeated_hashes(h)`: the hashes of keys that occur more than once in `checked`."""
    if rows <= DUPLICATE_CHECK_ROWS:
        con.execute(
            f"CREATE TABLE repeated_hashes AS SELECT hash({keys}) AS h FROM checked "
            "GROUP BY ALL HAVING count(*) > 1"
        )
        return
    # A hash table of every key may not fit the memory limit; a sort spills to disk, and
    # repeats are neighbours in sorted order, found batch by batch.
    reader = con.sql(f"SELECT hash({keys}) AS h FROM checked ORDER BY h").to_arrow_reader(1 << 20)
    found: list[npt.NDArray[np.uint64]] = []
    previous: int | None = None
    for batch in reader:
        hashes = batch.column(0).to_numpy()
        if hashes.size == 0:
            continue
        found.append(hashes[1:][hashes[1:] == hashes[:-1]])
        if previous is not None and hashes[0] == previous:
            found.append(hashes[:1])
        previous = int(hashes[-1])
    repeated = np.unique(np.concatenate(found)) if found else np.array([], dtype=np.uint64)
    con.register("found_hashes", pa.table({"h": pa.array(repeated, type=pa.uint64())}))
    con.execute("CREATE TABLE repeated_hashes AS SELECT h FROM found_hashes")
    con.unregister("found_hashes")


def _row_numbers(malformed: list[tuple[int, str]]) -> Callable[[int], int]:
    """rowid of `checked` → row in the file (header = 1), skipping the rows the scan left out."""
    lines = sorted({line for line, _ in malformed})
    good_before = [line - 2 - index for index, line in enumerate(lines)]
    return lambda rid: rid + 2 + bisect.bisect_right(good_before, rid)


def _collect_rejects(
    *, con: duckdb.DuckDBPyConnection, table: Table, malformed: list[tuple[int, str]]
) -> list[tuple[int, str, str, str, str, str]]:
    row_of = _row_numbers(malformed)
    found: list[tuple[int, str, str, str, str, str]] = []
    for row, message in malformed:
        code = Reject.ENCODING if "unicode" in message.lower() else Reject.MALFORMED
        zh, en = reason_text(code, None, message)
        found.append((row, "", "", code, zh, en))
    for column in table.columns:
        e, v = quote("_e_" + column.name), quote("_v_" + column.name)
        for rid, value, code in con.sql(
            f"SELECT rid, {v}, {e} FROM errors WHERE {e} IS NOT NULL"
        ).fetchall():
            zh, en = reason_text(Reject(code), column)
            found.append((row_of(rid), column.name, value or "", code, zh, en))
    key_name = "+".join(table.key)
    key_values = " || '|' || ".join(
        f"coalesce(CAST(c.{quote(k)} AS VARCHAR), '')" for k in table.key
    )
    for rid, first, value in con.sql(
        f"SELECT d.rid, d.first_rid, {key_values} FROM duplicates d "
        "JOIN checked c ON c.rowid = d.rid"
    ).fetchall():
        zh, en = reason_text(Reject.DUPLICATE, None, str(row_of(first)))
        found.append((row_of(rid), key_name, value, Reject.DUPLICATE, zh, en))
    for column in table.columns:
        if column.references is None:
            continue
        for rid, value in con.sql(
            f"SELECT r.rid, CAST(c.{quote(column.name)} AS VARCHAR) FROM "
            f"{quote('_ref_' + column.name)} r JOIN checked c ON c.rowid = r.rid"
        ).fetchall():
            zh, en = reason_text(Reject.REFERENCE, None, ".".join(column.references))
            found.append((row_of(rid), column.name, value or "", Reject.REFERENCE, zh, en))
    found.sort(key=lambda r: (r[0], r[1]))
    return found


def _merged(table: Table, store: Warehouse) -> str:
    """The table's next content: the new rows, plus for upserts the current rows not replaced."""
    columns = ", ".join(quote(c.name) for c in table.columns)
    if table.mode is LoadMode.REPLACE:
        return f"SELECT {columns} FROM good"
    if store.current_file(table.name) is None:
        return f"SELECT {columns} FROM good"
    keys = ", ".join(quote(k) for k in table.key)
    return (
        f"SELECT {columns} FROM good UNION ALL SELECT {columns} FROM {store.relation(table.name)} old "
        f"ANTI JOIN good USING ({keys})"
    )


def _write_quarantine(
    target: Path, file_name: str, rejects: list[tuple[int, str, str, str, str, str]]
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "column", "value", "reason_code", "reason_zh", "reason_en"])
        for row, column, value, code, zh, en in rejects:
            writer.writerow([file_name, row, column, value, code, zh, en])
