"""Importing a file into a canonical table: stage, map, convert, validate, quarantine, commit.

Good rows load; bad rows go to a quarantine CSV with file, row, column, value and the reason in
Chinese and English. The table changes in one atomic step or not at all, and importing the same
file twice gives the same table.
"""

from __future__ import annotations

import bisect
import csv
import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

from quanwang.core.tabular import write_csv
from quanwang.core.uploads import private_dir
from quanwang.data.import_scope import RowScope, flag_out_of_scope, out_of_scope_values
from quanwang.data.mapping import ColumnSource, CompiledMapping, MappingError, compile_mapping
from quanwang.data.schema import TABLES, Column, ColumnType, LoadMode, Table
from quanwang.data.sources import Source, SourceError, csv_relation, malformed_lines, open_source
from quanwang.data.warehouse import (
    DUCKDB_TYPES,
    Warehouse,
    clustering,
    quote,
    scalar_int,
    sql_literal,
)

# Up to this many rows the duplicate check sorts the key hashes in this process (8 bytes a
# row, outside DuckDB's memory limit); beyond it DuckDB sorts them, spilling to disk.
DUPLICATE_CHECK_ROWS = 16_000_000
# Source files larger than this are checked in a scratch database on disk rather than in memory.
IN_MEMORY_SOURCE_BYTES = 1 << 30
# Each import works in its own folder VAR_DIR/import-*; one not renamed into place this long
# after it was made was left by a killed process.
SCRATCH_PREFIX = "import-"
STAGING_STALE_SECONDS = 3600
# A CSV column mapped straight to a number, date or yes/no column is read with that type by
# DuckDB's reader (far cheaper than text then a cast) when at most PROBE_MAX_FAILURES of the
# first PROBE_ROWS rows fail its cast; rows that fail it later are converted from their text.
PROBE_ROWS = 10_000
PROBE_MAX_FAILURES = 0.01
# Failed casts one typed read may record (each keeps its line in memory) before the whole file
# is read again as text.
TYPED_READ_MAX_REJECTS = 100_000
# The reader's types: whole numbers are read as DOUBLE so that 12.0 passes and 12.5 fails
# exactly as in the text conversion; only ISO dates are read as dates (see csv_relation).
READ_TYPES = {
    ColumnType.INT: "DOUBLE",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.MONEY: "DOUBLE",
    ColumnType.DATE: "DATE",
    ColumnType.BOOL: "BOOLEAN",
}

Progress = Callable[["Stage", int, int | None], None]

# Number columns holding fractions: nan and ±inf read as numbers there, and are rejected.
FRACTIONAL = (ColumnType.FLOAT, ColumnType.MONEY)
INT64_MAX = 2**63 - 1

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
    NOT_FINITE = "not_finite"
    TOO_LARGE = "too_large"
    CHOICE = "choice"
    RANGE = "range"
    FUTURE = "future"
    DUPLICATE = "duplicate"
    REFERENCE = "reference"
    ENCODING = "encoding"
    MALFORMED = "malformed"
    SCOPE = "scope"


REJECT_LABELS = {
    Reject.REQUIRED: gettext_lazy("Required value missing"),
    Reject.TYPE: gettext_lazy("Wrong type"),
    Reject.NOT_FINITE: gettext_lazy("Not a finite number"),
    Reject.TOO_LARGE: gettext_lazy("Number too large"),
    Reject.CHOICE: gettext_lazy("Not an allowed value"),
    Reject.RANGE: gettext_lazy("Out of range"),
    Reject.FUTURE: gettext_lazy("Date in the future"),
    Reject.DUPLICATE: gettext_lazy("Duplicate key"),
    Reject.REFERENCE: gettext_lazy("Refers to a missing record"),
    Reject.ENCODING: gettext_lazy("Wrong text encoding"),
    Reject.MALFORMED: gettext_lazy("Malformed row"),
    Reject.SCOPE: gettext_lazy("Outside your scope"),
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


def _whole(number: str) -> str:
    """SQL for a DOUBLE as a BIGINT; NULL where it is not whole or not finite (NaN = NaN and
    floor(inf) = inf in DuckDB), or beyond BIGINT (1e30): a plain CAST would fail the import."""
    return f"(CASE WHEN {number} = floor({number}) THEN TRY_CAST({number} AS BIGINT) END)"


def _from_read_type(column: Column, source: ColumnSource, value: str) -> str:
    """SQL giving the same result as `_typed` on the text, from the value the reader typed."""
    kind = column.type
    if kind is ColumnType.INT:
        return _whole(value)
    if kind is ColumnType.MONEY:
        if source.unit == "fen":
            return f"round({value} / 100.0, 2)"
        return f"round({value}, 2)"
    return value


def _typed(column: Column, source: ColumnSource, text: str) -> str:
    """SQL turning the source text into the column's type; NULL where it cannot."""
    kind = column.type
    if kind is ColumnType.STRING:
        return _trimmed(text)
    if kind is ColumnType.INT:
        return _whole(_number(text))
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


def _error(column: Column, blank: str, typed: str, *, number: str) -> str:
    """SQL naming the first rule this value breaks (a reason code), or NULL.

    `blank` is SQL telling an empty value from a wrong one, and `number` SQL for the value read
    as a DOUBLE (telling 1e30 or nan from text that is no number for a whole-number column);
    both only run where the value did not convert.
    """
    empty = "'" + Reject.REQUIRED + "'" if column.required else "NULL"
    checks = [f"WHEN {typed} IS NULL AND {blank} THEN {empty}"]
    if column.type is ColumnType.INT:
        checks += [
            f"WHEN {typed} IS NULL AND NOT isfinite({number}) THEN '{Reject.NOT_FINITE}'",
            f"WHEN {typed} IS NULL AND {number} = floor({number}) THEN '{Reject.TOO_LARGE}'",
        ]
    checks.append(f"WHEN {typed} IS NULL THEN '{Reject.TYPE}'")
    if column.type in FRACTIONAL:
        checks.append(f"WHEN NOT isfinite({typed}) THEN '{Reject.NOT_FINITE}'")
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


def _broken(column: Column, blank: str, typed: str) -> str:
    """SQL true where `_error` names a rule: tested on every row, the codes only on those."""
    rules = []
    if column.type in FRACTIONAL:
        rules.append(f"NOT isfinite({typed})")
    if column.choices:
        rules.append(f"NOT {_one_of(f'CAST({typed} AS VARCHAR)', column.choices)}")
    if column.minimum is not None:
        rules.append(f"{typed} < {column.minimum}")
    if column.maximum is not None:
        rules.append(f"{typed} > {column.maximum}")
    if column.not_future:
        rules.append(f"{typed} > current_date")
    missing = "true" if column.required else f"NOT ({blank})"
    return f"(CASE WHEN {typed} IS NULL THEN {missing} ELSE {' OR '.join(rules) or 'false'} END)"


def reason_text(code: Reject, column: Column | None, detail: str = "") -> tuple[str, str]:
    """The reason for a rejected value, in Chinese and English."""
    if code is Reject.REQUIRED:
        return "必填字段为空", "required value is empty"
    if code is Reject.TYPE and column is not None:
        zh, en = TYPE_NAMES[column.type]
        return f"不是有效的{zh}", f"not {en}"
    if code is Reject.NOT_FINITE:
        return "不是有限的数值（NaN 或无穷大）", "not a finite number (NaN or infinity)"
    if code is Reject.TOO_LARGE:
        return (
            f"数值过大，整数须在 ±{INT64_MAX} 之内",
            f"too large: a whole number must lie within ±{INT64_MAX}",
        )
    if code is Reject.CHOICE and column is not None:
        allowed = "/".join(column.choices)
        return f"不在允许值内（{allowed}）", f"not one of {allowed}"
    if code is Reject.RANGE and column is not None:
        low, high = _bound(column.minimum), _bound(column.maximum)
        if column.maximum is None:
            return f"小于最小值 {low}", f"below the minimum of {low}"
        if column.minimum is None:
            return f"大于最大值 {high}", f"above the maximum of {high}"
        return f"超出范围 [{low}, {high}]", f"out of range [{low}, {high}]"
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
        zh, en = _malformed(detail)
        return f"行格式错误：{zh}", f"malformed row: {en}"
    if code is Reject.SCOPE:
        return "超出您的管辖范围", "outside your scope"
    return str(code), str(code)


def _bound(value: float | None) -> str:
    """A column's minimum or maximum as written in a reason: 0 rather than 0.0."""
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def _malformed(message: str) -> tuple[str, str]:
    """The CSV reader's message for a row it could not read, in Chinese and English."""
    counted = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if counted is not None:
        expected, found = int(counted[1]), int(counted[2])
        if found < expected:
            return (
                f"只有 {found} 个字段，应有 {expected} 个（行被截断？）",
                f"{found} fields where {expected} are expected (a truncated row?)",
            )
        return (
            f"有 {found} 个字段，应有 {expected} 个（多余字段，或值中的逗号未加引号？）",
            f"{found} fields where {expected} are expected "
            "(extra fields, or a comma in a value without quotes?)",
        )
    if "unterminated quote" in message.lower():
        return (
            "引号未闭合，其后直到文件末尾的内容都算作这个值",
            "a quote is opened and never closed; all that follows it is read as one value",
        )
    return message, message


def import_file(
    *,
    table_name: str,
    path: Path,
    mapping: dict[str, Any] | None = None,
    encoding: str | None = None,
    warehouse: Warehouse | None = None,
    progress: Progress | None = None,
    quarantine_dir: Path | None = None,
    scope: RowScope | None = None,
) -> ImportReport:
    """Import one file into `table_name`. With `scope` (an importer below the root), rows
    outside it are quarantined (data.import_scope); None checks no row's org."""
    table = TABLES[table_name]
    store = warehouse or Warehouse()
    started = time.monotonic()
    notify = progress or (lambda _stage, _done, _total: None)
    with scratch_dir() as work_dir:
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
            scan = _scan(
                con=con, table=table, sources=compiled.sources, source=source, work_dir=work_dir
            )
        except duckdb.Error as exc:
            if "unicode" in str(exc).lower():
                raise ImportFailed(
                    gettext(
                        "%(file)s: the file is not valid UTF-8 throughout; name the file's "
                        "encoding (e.g. gbk)"
                    )
                    % {"file": path.name}
                ) from exc
            # DuckDB's own words cannot be translated: they follow a translated sentence.
            raise ImportFailed(
                gettext("%(file)s: the file cannot be read (%(detail)s)")
                % {"file": path.name, "detail": str(exc).splitlines()[0]}
            ) from exc
        malformed = scan.malformed
        rows = scalar_int(con, "SELECT count(*) FROM checked")
        # Row order is fixed now (the rowid of `checked`); letting DuckDB reorder from here on
        # is what allows its aggregates and joins to spill within the memory limit.
        con.execute("SET preserve_insertion_order = false")
        notify(Stage.VALIDATING, 0, rows)
        with store.lock(table.name):
            _find_bad_rows(con=con, table=table, store=store, rows=rows, scan=scan, scope=scope)
            rejects = _collect_rejects(con=con, table=table, scan=scan, scoped=scope is not None)
            notify(Stage.WRITING, rows, rows)
            loaded = rows - scalar_int(con, "SELECT count(*) FROM bad_rows")
            kept = store.count(table.name) if table.mode is LoadMode.UPSERT else 0
            version = store.commit(
                con=con, table=table, select_where=_merged(table, store), rows=loaded + kept
            )
        by_reason: dict[str, int] = {}
        for _row, _col, _val, code, _zh, _en in rejects:
            by_reason[code] = by_reason.get(code, 0) + 1
        quarantine_file = ""
        if rejects:
            target_dir = quarantine_dir or Path(settings.VAR_DIR) / "quarantine"
            target = target_dir / f"{table.name}-{version}.csv"
            private_dir(target_dir)  # rejected values are subscribers' data
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


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A work folder `<VAR_DIR>/import-*` for one import, locked (flock) while it runs and
    removed after it.

    What a killed import left is removed first: a work folder whose lock is free belongs to no
    running import. The folder is made and locked under a name the clean-up does not look at,
    then renamed, so that an import starting beside this one never finds it unlocked.
    """
    var_dir = Path(settings.VAR_DIR)
    var_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_scratch(var_dir)
    staging = Path(tempfile.mkdtemp(prefix="." + SCRATCH_PREFIX, dir=var_dir))
    handle = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        work_dir = var_dir / staging.name.removeprefix(".")
        staging.rename(work_dir)
        try:
            yield work_dir
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    finally:
        os.close(handle)  # the lock goes with it, after the folder


def _remove_stale_scratch(var_dir: Path) -> None:
    """Remove the work folders no running import holds, and folders a process killed between
    making and renaming its folder left (empty, and older than STAGING_STALE_SECONDS)."""
    for folder in var_dir.glob(SCRATCH_PREFIX + "*"):
        try:
            handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue  # removed meanwhile, or not a folder
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a running import's
        else:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(handle)
    for folder in var_dir.glob("." + SCRATCH_PREFIX + "*"):
        try:
            if time.time() - folder.stat().st_mtime > STAGING_STALE_SECONDS:
                folder.rmdir()  # only ever empty; a folder that is not stays
        except OSError:
            continue


def _compile(
    *, table: Table, staged_columns: list[str], mapping: dict[str, Any] | None, path: Path
) -> CompiledMapping:
    try:
        compiled = compile_mapping(table=table, source_columns=staged_columns, spec=mapping)
    except MappingError as exc:
        raise ImportFailed(
            gettext("%(file)s: the column mapping cannot be used: %(error)s")
            % {"file": path.name, "error": exc}
        ) from exc
    missing = [c.name for c in table.columns if c.required and c.name not in compiled.sources]
    if missing:
        labels = ", ".join(f"{n} ({table.by_name[n].zh})" for n in missing)
        raise ImportFailed(
            gettext("%(file)s: row 1 has no column for the required %(columns)s")
            % {"file": path.name, "columns": labels}
        )
    return compiled


@dataclass
class Scan:
    """How `checked` was read, and where each of its rows lies in the file.

    Rows 0..scanned-1 of `checked` are the file's rows in order, less the `skipped` ones; the
    rows after them are `recovered`: rows the typed read rejected, converted from their text.
    """

    malformed: list[tuple[int, str]]  # (row, message) of each row that could not be read
    scanned: int
    skipped: list[int] = field(default_factory=list)  # file rows, sorted
    recovered: list[int] = field(default_factory=list)  # file row of each row after `scanned`
    typed: tuple[str, ...] = ()  # target columns read with their own type

    def row_of(self) -> Callable[[int], int]:
        """rowid of `checked` → row in the file (header = 1)."""
        of_scanned = _row_numbers(self.skipped)
        return lambda rid: (
            of_scanned(rid) if rid < self.scanned else self.recovered[rid - self.scanned]
        )


def _checked_sql(
    *, table: Table, sources: dict[str, ColumnSource], relation: str, typed: frozenset[str]
) -> str:
    """One scan of the file into `checked`: each value typed, and for a row that breaks a rule,
    `_errors`, a list of {c: column, e: reason code, v: text} (NULL for a good row, so that
    storing it costs next to nothing). Each layer names the previous one's results so nothing is
    computed twice.

    The columns in `typed` arrive typed from the reader (an empty one as NULL; text that does
    not convert never arrives), so for them "empty" is NULL, and the text of a value that breaks
    a rule is the typed value's: -5.0 for "-5" (the file's own text would cost a second read).
    """
    texts, converted, names, broken, errors = [], [], [], [], []
    for column in table.columns:
        name, v = quote(column.name), quote("_v_" + column.name)
        source = sources.get(column.name)
        if source is None:
            texts.append(f"CAST(NULL AS VARCHAR) AS {v}")
            converted.append(f"CAST(NULL AS {DUCKDB_TYPES[column.type]}) AS {name}, {v}")
            blank, number = f"{_trimmed(v)} IS NULL", "CAST(NULL AS DOUBLE)"
        elif column.name in typed:
            texts.append(f"{source.sql} AS {v}")
            converted.append(f"{_from_read_type(column, source, v)} AS {name}, {v}")
            blank, number = f"{v} IS NULL", v
        else:
            texts.append(f"CAST({source.sql} AS VARCHAR) AS {v}")
            converted.append(f"{_typed(column, source, v)} AS {name}, {v}")
            blank, number = f"{_trimmed(v)} IS NULL", _number(v)
        names.append(name)
        broken.append(_broken(column, blank, name))
        error = _error(column, blank, name, number=number)
        errors.append(
            f"{{'c': {sql_literal(column.name)}, 'e': {error}, 'v': CAST({v} AS VARCHAR)}}"
        )
    scan = f"SELECT {', '.join(texts)} FROM {relation} AS raw"
    layered = f"SELECT {', '.join(converted)} FROM ({scan})"
    found = f"list_filter([{', '.join(errors)}], lambda x: x.e IS NOT NULL)"
    return (
        f"SELECT {', '.join(names)}, CASE WHEN {' OR '.join(broken)} THEN {found} END AS _errors "
        f"FROM ({layered})"
    )


def _scan(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    sources: dict[str, ColumnSource],
    source: Source,
    work_dir: Path,
) -> Scan:
    """Read the file into `checked`: typed where a probe of its first rows says it pays, as text
    otherwise or where the typed read rejected too many rows."""
    types = _probe(source=source, types=_read_types(table=table, sources=sources, source=source))
    if types:
        scan = _typed_scan(
            con=con, table=table, sources=sources, source=source, types=types, work_dir=work_dir
        )
        if scan is not None:
            return scan
    sql = _checked_sql(table=table, sources=sources, relation=source.relation, typed=frozenset())
    con.execute(f"CREATE TABLE checked AS {sql}")
    malformed = malformed_lines(con) if source.is_csv else []
    return Scan(
        malformed=malformed,
        scanned=scalar_int(con, "SELECT count(*) FROM checked"),
        skipped=sorted({line for line, _ in malformed}),
    )


def _is_direct(source: ColumnSource) -> bool:
    """Whether the column is the source column itself, not a constant, expression or value map."""
    return source.sql == f"raw.{quote(source.origin)}"


def _read_types(
    *, table: Table, sources: dict[str, ColumnSource], source: Source
) -> dict[str, str]:
    """Source column → the type the reader could read it as: those mapped straight to number,
    date or yes/no columns only, and not named in an expression or value map (which take text).
    """
    if source.csv_path is None:
        return {}
    wanted: dict[str, set[str]] = {}
    for column in table.columns:
        mapped = sources.get(column.name)
        if mapped is not None and _is_direct(mapped):
            wanted.setdefault(mapped.origin, set()).add(READ_TYPES.get(column.type, "VARCHAR"))
    indirect = " ".join(s.sql for s in sources.values() if not _is_direct(s)).lower()
    return {
        name: kinds.pop()
        for name, kinds in wanted.items()
        if len(kinds) == 1 and "VARCHAR" not in kinds and name.lower() not in indirect
    }


def _probe(*, source: Source, types: dict[str, str]) -> dict[str, str]:
    """The columns of `types` whose values in the file's first rows mostly pass the reader's cast."""
    if not types:
        return {}
    con = duckdb.connect()
    try:
        relation = source.typed_relation(types=types, rejects="probe", rejects_limit=0)
        # Materialised, so that every column is cast (a count alone would read none of them).
        con.execute(
            f"CREATE TABLE probe AS SELECT {', '.join(quote(n) for n in types)} "
            f"FROM {relation} LIMIT {PROBE_ROWS}"
        )
        read = scalar_int(con, "SELECT count(*) FROM probe")
        failures = dict(
            con.sql(
                "SELECT column_name, count(DISTINCT line) FROM probe_errors "
                "WHERE error_type = 'CAST' GROUP BY column_name"
            ).fetchall()
        )
        rejected = scalar_int(con, "SELECT count(DISTINCT line) FROM probe_errors")
    except duckdb.Error:
        return {}  # the text read reports what is wrong with the file
    finally:
        con.close()
    seen = max(1, read + rejected)
    return {n: t for n, t in types.items() if failures.get(n, 0) / seen <= PROBE_MAX_FAILURES}


def _typed_scan(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    sources: dict[str, ColumnSource],
    source: Source,
    types: dict[str, str],
    work_dir: Path,
) -> Scan | None:
    """`checked` from a read with `types`; rows it rejected for a failed cast only are appended,
    converted from their text. None (and no `checked`) where it rejected too many to keep."""
    relation = source.typed_relation(
        types=types, rejects="typed", rejects_limit=TYPED_READ_MAX_REJECTS
    )
    typed = frozenset(name for name, s in sources.items() if _is_direct(s) and s.origin in types)
    sql = _checked_sql(table=table, sources=sources, relation=relation, typed=typed)
    con.execute(f"CREATE TABLE checked AS {sql}")
    if scalar_int(con, "SELECT count(*) FROM typed_errors") >= TYPED_READ_MAX_REJECTS:
        con.execute("DROP TABLE checked")
        return None
    scanned = scalar_int(con, "SELECT count(*) FROM checked")
    rejected = con.sql(
        "SELECT line, bool_and(error_type = 'CAST'), "
        "min(error_message) FILTER (WHERE error_type <> 'CAST'), any_value(csv_line) "
        "FROM typed_errors GROUP BY line ORDER BY line"
    ).fetchall()
    malformed = [(int(line), str(message)) for line, cast, message, _ in rejected if not cast]
    failed = [(int(line), str(text)) for line, cast, _, text in rejected if cast]
    recovered, unreadable = _recover(
        con=con, table=table, sources=sources, source=source, failed=failed, work_dir=work_dir
    )
    return Scan(
        malformed=sorted(malformed + unreadable),
        scanned=scanned,
        skipped=[int(line) for line, *_ in rejected],
        recovered=recovered,
        typed=tuple(sorted(typed)),
    )


def _recover(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    sources: dict[str, ColumnSource],
    source: Source,
    failed: list[tuple[int, str]],
    work_dir: Path,
) -> tuple[list[int], list[tuple[int, str]]]:
    """Append to `checked` the rows (file row, line) the typed read rejected for a value that did
    not cast, converted from their text as in a text read: "1,234.50", 2024/1/5, 是 and the like.

    Returns the file rows appended, in order, and (row, message) for any that cannot be read.
    """
    if not failed:
        return [], []
    path = work_dir / "recovered.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(source.columns)
        for _row, line in failed:
            # The reader keeps the line break before a line in its text where lines end in \r\n.
            handle.write(line.strip("\r\n") + "\n")
    relation = csv_relation(path, source.columns, rejects="recovered")
    sql = _checked_sql(table=table, sources=sources, relation=relation, typed=frozenset())
    con.execute(f"INSERT INTO checked {sql}")
    # Line n of recovered.csv (its header is line 1) is failed[n - 2].
    unreadable = [
        (failed[line - 2][0], message)
        for line, message in malformed_lines(con, errors_table="recovered_errors")
    ]
    lost = {row for row, _ in unreadable}
    return [row for row, _ in failed if row not in lost], unreadable


def _find_bad_rows(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    store: Warehouse,
    rows: int,
    scan: Scan,
    scope: RowScope | None = None,
) -> None:
    """`errors`, `duplicates`, `_ref_<column>`, `_scope` (with a scope) and their union
    `bad_rows`, by rowid of `checked`."""
    con.execute(
        "CREATE TABLE errors AS SELECT rowid AS rid, _errors FROM checked WHERE _errors IS NOT NULL"
    )
    keys = ", ".join(quote(k) for k in table.key)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # numpy sorts the key hashes on one core while DuckDB checks the references.
        repeats = _repeated_hashes(con=con, keys=keys, rows=rows, pool=pool)
        references = _check_references(con=con, table=table, store=store)
        if scope is not None:
            references.append(
                flag_out_of_scope(
                    con=con, table=table, store=store, scope=scope, missing=references
                )
            )
        repeated = repeats.result()
    con.register("found_hashes", pa.table({"h": pa.array(repeated, type=pa.uint64())}))
    con.execute("CREATE TABLE repeated_hashes AS SELECT h FROM found_hashes")
    con.unregister("found_hashes")
    # The exact keys of only the rows whose key hash repeats (where a hash collision drops out).
    present = " AND ".join(f"c.{quote(k)} IS NOT NULL" for k in table.key)
    position, recovered = _file_order(con=con, scan=scan)
    con.execute(
        f"CREATE TABLE duplicates AS SELECT rid, first_rid FROM (SELECT rid, "
        f"arg_min(rid, pos) OVER (PARTITION BY {keys}) AS first_rid FROM (SELECT c.rowid AS rid, "
        f"{position} AS pos, {', '.join('c.' + quote(k) for k in table.key)} FROM checked c "
        f"{recovered} WHERE {present} AND hash({', '.join('c.' + quote(k) for k in table.key)}) "
        "IN (SELECT h FROM repeated_hashes))) WHERE rid <> first_rid"
    )
    bad = ["SELECT rid FROM errors", "SELECT rid FROM duplicates"]
    bad += [f"SELECT rid FROM {quote(name)}" for name in references]
    con.execute("CREATE TABLE bad_rows AS " + " UNION ".join(bad))
    columns = ", ".join(quote(c.name) for c in table.columns)
    if scalar_int(con, "SELECT count(*) FROM bad_rows") == 0:
        con.execute(f"CREATE VIEW good AS SELECT {columns} FROM checked")
    else:
        con.execute(
            f"CREATE VIEW good AS SELECT {columns} FROM checked c "
            "ANTI JOIN bad_rows b ON c.rowid = b.rid"
        )


def _check_references(
    *, con: duckdb.DuckDBPyConnection, table: Table, store: Warehouse
) -> list[str]:
    """`_ref_<column>(rid)` for each column that refers to another table: the rows of `checked`
    naming a record that table lacks. Returns the tables' names."""
    made = []
    for column in table.columns:
        if column.references is None:
            continue
        ref_table, ref_column = column.references
        pool = store.relation(ref_table)
        if ref_table == table.name:
            pool = (
                f"(SELECT {quote(ref_column)} FROM checked "
                f"UNION ALL SELECT {quote(ref_column)} FROM {pool})"
            )
        name = "_ref_" + column.name
        # An anti join, not NOT EXISTS: DuckDB plans the latter as a mark join whose every row
        # is then filtered (0.75 s against 0.5 s for 12M rows).
        con.execute(
            f"CREATE TABLE {quote(name)} AS SELECT c.rowid AS rid FROM checked c "
            f"ANTI JOIN (SELECT {quote(ref_column)} AS ref FROM {pool}) p "
            f"ON p.ref = c.{quote(column.name)} WHERE c.{quote(column.name)} IS NOT NULL"
        )
        made.append(name)
    return made


def _file_order(*, con: duckdb.DuckDBPyConnection, scan: Scan) -> tuple[str, str]:
    """SQL ordering rows of `checked` c as in the file, and the join it needs.

    Scanned rows keep their order; a recovered row sorts just before the first scanned row after
    it in the file (scanned row r at r*(n+1)+n, the j-th of n recovered rows, with k scanned rows
    before it, at k*(n+1)+j).
    """
    if not scan.recovered:
        return "c.rowid", ""
    n = len(scan.recovered)
    rids = [scan.scanned + j for j in range(n)]
    positions = [
        (row - 2 - bisect.bisect_left(scan.skipped, row)) * (n + 1) + j
        for j, row in enumerate(scan.recovered)
    ]
    con.execute(
        "CREATE TABLE recovered_at AS SELECT unnest(?::BIGINT[]) AS rid, "
        "unnest(?::BIGINT[]) AS pos",
        [rids, positions],
    )
    return (
        f"coalesce(r.pos, c.rowid * {n + 1} + {n})",
        "LEFT JOIN recovered_at r ON r.rid = c.rowid",
    )


def _repeated_hashes(
    *, con: duckdb.DuckDBPyConnection, keys: str, rows: int, pool: ThreadPoolExecutor
) -> Future[npt.NDArray[np.uint64]]:
    """The hashes of keys that occur more than once in `checked`, sorted and unique.

    Repeats are neighbours in sorted order. A sort of 8-byte hashes in numpy (on `pool`, which
    lets the caller go on meanwhile) is about twice as fast as DuckDB's hash aggregate of them;
    past DUPLICATE_CHECK_ROWS DuckDB sorts (and spills) and the repeats are found batch by batch.
    """
    if rows <= DUPLICATE_CHECK_ROWS:
        hashes = con.sql(f"SELECT hash({keys}) AS h FROM checked").fetchnumpy()["h"]
        return pool.submit(_repeats_in, hashes)
    found: list[npt.NDArray[np.uint64]] = []
    reader = con.sql(f"SELECT hash({keys}) AS h FROM checked ORDER BY h").to_arrow_reader(1 << 20)
    previous: int | None = None
    for batch in reader:
        hashes = batch.column(0).to_numpy()
        if hashes.size == 0:
            continue
        found.append(hashes[1:][hashes[1:] == hashes[:-1]])
        if previous is not None and hashes[0] == previous:
            found.append(hashes[:1])
        previous = int(hashes[-1])
    done: Future[npt.NDArray[np.uint64]] = Future()
    done.set_result(np.unique(np.concatenate(found)) if found else np.array([], dtype=np.uint64))
    return done


def _repeats_in(hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    hashes.sort()
    return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


def _row_numbers(skipped: list[int]) -> Callable[[int], int]:
    """Place in a scan → row in the file (header = 1), given the rows the scan left out."""
    lines = sorted(set(skipped))
    good_before = [line - 2 - index for index, line in enumerate(lines)]
    return lambda rid: rid + 2 + bisect.bisect_right(good_before, rid)


def _collect_rejects(
    *, con: duckdb.DuckDBPyConnection, table: Table, scan: Scan, scoped: bool = False
) -> list[tuple[int, str, str, str, str, str]]:
    row_of = scan.row_of()
    found: list[tuple[int, str, str, str, str, str]] = []
    for row, message in scan.malformed:
        code = Reject.ENCODING if "unicode" in message.lower() else Reject.MALFORMED
        zh, en = reason_text(code, None, message)
        found.append((row, "", "", code, zh, en))
    for rid, name, value, code in con.sql(
        "SELECT rid, c, v, e FROM (SELECT rid, unnest(_errors, recursive := true) FROM errors)"
    ).fetchall():
        zh, en = reason_text(Reject(code), table.by_name[name])
        found.append((row_of(rid), name, value or "", code, zh, en))
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
    if scoped:
        zh, en = reason_text(Reject.SCOPE, None)
        for rid, name, value in out_of_scope_values(con, table):
            found.append((row_of(rid), name, value, Reject.SCOPE, zh, en))
    found.sort(key=lambda r: (r[0], r[1]))
    return found


def _merged(table: Table, store: Warehouse) -> Callable[[str], str]:
    """SQL for the table's next rows that meet a condition: the new rows, plus for upserts the
    current rows not replaced."""
    columns = ", ".join(quote(c.name) for c in table.columns)
    if table.mode is LoadMode.REPLACE or store.current_file(table.name) is None:
        return lambda where: f"SELECT {columns} FROM good WHERE {where}"
    keys = ", ".join(quote(k) for k in table.key)
    # A version stored before a column was added to the schema lacks it: null there.
    probe = duckdb.sql(f"SELECT * FROM {store.relation(table.name)} LIMIT 0")
    assert probe is not None  # a SELECT always gives a relation
    stored = set(probe.columns)
    old = ", ".join(
        quote(c.name)
        if c.name in stored
        else f"CAST(NULL AS {DUCKDB_TYPES[c.type]}) AS {quote(c.name)}"
        for c in table.columns
    )
    # The commit selects a range of the first clustering column at a time: a current row can
    # only be replaced by a new row in the same range where that column is part of the key.
    same_range = clustering(table)[0] in table.key

    def select(where: str) -> str:
        new_keys = f"(SELECT {keys} FROM good WHERE {where})" if same_range else "good"
        return (
            f"SELECT {columns} FROM good WHERE {where} UNION ALL SELECT {old} FROM "
            f"(SELECT * FROM {store.relation(table.name)} WHERE {where}) old "
            f"ANTI JOIN {new_keys} new USING ({keys})"
        )

    return select


def _write_quarantine(
    target: Path, file_name: str, rejects: list[tuple[int, str, str, str, str, str]]
) -> None:
    # The shared writer: values are the operator's, and a spreadsheet opens this file.
    write_csv(
        target,
        header=["file", "row", "column", "value", "reason_code", "reason_zh", "reason_en"],
        rows=([file_name, *reject] for reject in rejects),
    )
