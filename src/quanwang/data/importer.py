"""Importing a file into a canonical table: stage, map, convert, validate, quarantine, commit.

Good rows load; bad rows go to a quarantine CSV with file, row, column, value and the reason in
Chinese and English. The table changes in one atomic step or not at all, and importing the same
file twice gives the same table.
"""

from __future__ import annotations

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
from django.conf import settings

from quanwang.data.mapping import ColumnSource, CompiledMapping, MappingError, compile_mapping
from quanwang.data.schema import TABLES, Column, ColumnType, LoadMode, Table
from quanwang.data.sources import SourceError, stage
from quanwang.data.warehouse import Warehouse, quote, scalar_int, sql_literal

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


def _number(sql: str) -> str:
    # The plain cast first: the clean-up of separators and currency signs is the slow path.
    cleaned = f"regexp_replace({sql}, '[,，¥￥元\\s]', '', 'g')"
    return f"COALESCE(TRY_CAST({sql} AS DOUBLE), TRY_CAST({cleaned} AS DOUBLE))"


def _typed(column: Column, source: ColumnSource, v: str) -> str:
    """SQL turning the trimmed text `v` into the column's type; NULL where it cannot."""
    kind = column.type
    if kind is ColumnType.STRING:
        return v
    if kind is ColumnType.INT:
        return (
            f"(CASE WHEN {_number(v)} = floor({_number(v)}) THEN CAST({_number(v)} AS BIGINT) END)"
        )
    if kind is ColumnType.FLOAT:
        return _number(v)
    if kind is ColumnType.MONEY:
        divisor = "100.0" if source.unit == "fen" else "1.0"
        return f"round({_number(v)} / {divisor}, 2)"
    if kind is ColumnType.BOOL:
        trues = ", ".join(sql_literal(w) for w in TRUE_WORDS)
        falses = ", ".join(sql_literal(w) for w in FALSE_WORDS)
        return f"(CASE WHEN lower({v}) IN ({trues}) THEN true WHEN lower({v}) IN ({falses}) THEN false END)"
    serial = (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') "
        f"THEN DATE '1899-12-30' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) END"
    )
    formats = (
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%Y%m%d",
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
        "%Y.%m.%d",
    )
    parsed = ", ".join(f"CAST(TRY_STRPTIME({v}, '{f}') AS DATE)" for f in formats[1:])
    return f"COALESCE(TRY_CAST({v} AS DATE), {parsed}, {serial})"


def _error(column: Column, v: str, typed: str) -> str:
    """SQL naming the first rule this value breaks (a reason code), or NULL."""
    checks = []
    if column.required:
        checks.append(f"WHEN {v} IS NULL THEN '{Reject.REQUIRED}'")
    checks.append(f"WHEN {v} IS NOT NULL AND {typed} IS NULL THEN '{Reject.TYPE}'")
    if column.choices:
        allowed = ", ".join(sql_literal(c) for c in column.choices)
        checks.append(
            f"WHEN {typed} IS NOT NULL AND CAST({typed} AS VARCHAR) NOT IN ({allowed}) THEN '{Reject.CHOICE}'"
        )
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
        # In memory, spilling to work_dir beyond the memory limit: bounded RAM, no staging writes.
        con = duckdb.connect()
        con.execute(f"SET temp_directory = {sql_literal(str(work_dir / 'spill'))}")
        con.execute(f"SET memory_limit = '{settings.QUANWANG_IMPORT_MEMORY}'")
        notify(Stage.READING, 0, None)
        try:
            staged = stage(con=con, path=path, encoding=encoding, work_dir=work_dir)
        except SourceError as exc:
            raise ImportFailed(str(exc)) from exc
        except duckdb.Error as exc:
            if "unicode" in str(exc).lower():
                raise ImportFailed(
                    f"{path.name}: the file is not valid UTF-8 throughout; "
                    "name its encoding, e.g. --encoding gbk"
                ) from exc
            raise ImportFailed(f"{path.name}: {str(exc).splitlines()[0]}") from exc
        compiled = _compile(table=table, staged_columns=staged.columns, mapping=mapping, path=path)
        # Row numbers are fixed now (rowid of the staged table); letting DuckDB reorder from
        # here on is what allows its aggregates and joins to spill within the memory limit.
        con.execute("SET preserve_insertion_order = false")
        notify(Stage.VALIDATING, 0, staged.rows)
        with store.lock(table.name):
            _validate(con=con, table=table, sources=compiled.sources, store=store)
            rejects = _collect_rejects(
                con=con, table=table, sources=compiled.sources, malformed=staged.malformed
            )
            notify(Stage.WRITING, staged.rows, staged.rows)
            loaded = scalar_int(con, "SELECT count(*) FROM good")
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
            rows_read=staged.rows + len({r for r, _ in staged.malformed}),
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


def _validate(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    sources: dict[str, ColumnSource],
    store: Warehouse,
) -> None:
    selects = ["raw._row AS _row"]
    for column in table.columns:
        source = sources.get(column.name)
        v = (
            f"NULLIF(trim(CAST({source.sql} AS VARCHAR)), '')"
            if source
            else "CAST(NULL AS VARCHAR)"
        )
        typed = _typed(column, source, v) if source else "NULL"
        selects.append(f"{typed} AS {quote(column.name)}")
        selects.append(f"{_error(column, v, typed)} AS {quote('_e_' + column.name)}")
    con.execute("CREATE TABLE checked AS SELECT " + ", ".join(selects) + " FROM raw")
    keys = ", ".join(quote(k) for k in table.key)
    con.execute(
        f"CREATE TABLE duplicates AS WITH repeated AS (SELECT {keys}, min(_row) AS first_row "
        f"FROM checked GROUP BY {keys} HAVING count(*) > 1) SELECT c._row, r.first_row "
        f"FROM checked c JOIN repeated r USING ({keys}) WHERE c._row <> r.first_row"
    )
    reference_checks = []
    for column in table.columns:
        if column.references is None:
            continue
        ref_table, ref_column = column.references
        pool = store.relation(ref_table)
        if ref_table == table.name:
            pool = f"(SELECT {quote(ref_column)} FROM checked UNION ALL SELECT {quote(ref_column)} FROM {pool})"
        con.execute(
            f"CREATE TABLE {quote('_ref_' + column.name)} AS SELECT c._row FROM checked c "
            f"WHERE c.{quote(column.name)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {pool} p "
            f"WHERE p.{quote(ref_column)} = c.{quote(column.name)})"
        )
        reference_checks.append(column)
    bad = ["SELECT _row FROM duplicates"]
    bad += [
        f"SELECT _row FROM checked WHERE {quote('_e_' + c.name)} IS NOT NULL" for c in table.columns
    ]
    bad += [f"SELECT _row FROM {quote('_ref_' + c.name)}" for c in reference_checks]
    con.execute("CREATE TABLE bad_rows AS " + " UNION ".join(bad))
    columns = ", ".join(quote(c.name) for c in table.columns)
    con.execute(
        f"CREATE TABLE good AS SELECT {columns} FROM checked c ANTI JOIN bad_rows b USING (_row)"
    )


def _collect_rejects(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    sources: dict[str, ColumnSource],
    malformed: list[tuple[int, str]],
) -> list[tuple[int, str, str, str, str, str]]:
    found: list[tuple[int, str, str, str, str, str]] = []
    for row, message in malformed:
        code = Reject.ENCODING if "unicode" in message.lower() else Reject.MALFORMED
        zh, en = reason_text(code, None, message)
        found.append((row, "", "", code, zh, en))
    for column in table.columns:
        source = sources.get(column.name)
        value = f"CAST({source.sql} AS VARCHAR)" if source else "NULL"
        rows = con.sql(
            f"SELECT c._row, {value}, c.{quote('_e_' + column.name)} FROM checked c "
            f"JOIN raw USING (_row) WHERE c.{quote('_e_' + column.name)} IS NOT NULL"
        ).fetchall()
        for row, value, code in rows:
            zh, en = reason_text(Reject(code), column)
            found.append((int(row), column.name, value or "", code, zh, en))
    key_name = "+".join(table.key)
    key_values = " || '|' || ".join(
        f"coalesce(CAST(c.{quote(k)} AS VARCHAR), '')" for k in table.key
    )
    for row, first, value in con.sql(
        f"SELECT d._row, d.first_row, {key_values} FROM duplicates d JOIN checked c USING (_row)"
    ).fetchall():
        zh, en = reason_text(Reject.DUPLICATE, None, str(first))
        found.append((int(row), key_name, value, Reject.DUPLICATE, zh, en))
    for column in table.columns:
        if column.references is None:
            continue
        for row, value in con.sql(
            f"SELECT r._row, CAST(c.{quote(column.name)} AS VARCHAR) FROM "
            f"{quote('_ref_' + column.name)} r JOIN checked c USING (_row)"
        ).fetchall():
            zh, en = reason_text(Reject.REFERENCE, None, ".".join(column.references))
            found.append((int(row), column.name, value or "", Reject.REFERENCE, zh, en))
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
