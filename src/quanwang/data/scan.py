"""Reading the source into `checked`: one scan that types every value and notes the rules each
row breaks, typed by DuckDB's reader where a probe says it pays, with the rows it rejected
recovered from their text; and where each row of `checked` lies in the file."""

from __future__ import annotations

import bisect
import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from quanwang.data.mapping import ColumnSource
from quanwang.data.schema import Table
from quanwang.data.sources import (
    REJECT_MESSAGE_SQL,
    Source,
    csv_relation,
    excerpt,
    line_excerpts,
    malformed_lines,
)
from quanwang.data.values import (
    READ_TYPES,
    broken_sql,
    error_sql,
    from_read_type_sql,
    number_sql,
    trimmed_sql,
    typed_sql,
)
from quanwang.data.warehouse import DUCKDB_TYPES, quote, scalar_int, sql_literal

# A CSV column mapped straight to a number, date or yes/no column is read with that type by
# DuckDB's reader (far cheaper than text then a cast) when at most PROBE_MAX_FAILURES of the
# first PROBE_ROWS rows fail its cast; rows that fail it later are converted from their text.
PROBE_ROWS = 10_000
PROBE_MAX_FAILURES = 0.01
# Failed casts one typed read may record (each keeps its line in memory) before the whole file
# is read again as text.
TYPED_READ_MAX_REJECTS = 100_000
# The reader keeps this many bytes of a rejected row's text: a longer row that failed a cast
# cannot be recovered from it (its value would be cut), so the file is read as text.
READER_LINE_BYTES = 10_000


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
    excerpts: dict[int, str] = field(default_factory=dict)  # row → its text, of `malformed`

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
    a rule is the typed value's (-5.0 for "-5"), until `_file_texts` finds the file's own.
    """
    texts, converted, names, broken, errors = [], [], [], [], []
    for column in table.columns:
        name, v = quote(column.name), quote("_v_" + column.name)
        source = sources.get(column.name)
        if source is None:
            texts.append(f"CAST(NULL AS VARCHAR) AS {v}")
            converted.append(f"CAST(NULL AS {DUCKDB_TYPES[column.type]}) AS {name}, {v}")
            blank, number = f"{trimmed_sql(v)} IS NULL", "CAST(NULL AS DOUBLE)"
        elif column.name in typed:
            texts.append(f"{source.sql} AS {v}")
            converted.append(f"{from_read_type_sql(column, source, v)} AS {name}, {v}")
            blank, number = f"{v} IS NULL", v
        else:
            texts.append(f"CAST({source.sql} AS VARCHAR) AS {v}")
            converted.append(f"{typed_sql(column, source, v)} AS {name}, {v}")
            blank, number = f"{trimmed_sql(v)} IS NULL", number_sql(v)
        names.append(name)
        broken.append(broken_sql(column, blank, name))
        error = error_sql(column, blank, name, number=number)
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


def scan_source(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    sources: dict[str, ColumnSource],
    source: Source,
    work_dir: Path,
) -> Scan:
    """Read the file into `checked`: typed where a probe of its first rows says it pays, as text
    otherwise or where the typed read rejected too many rows."""
    con.execute("CREATE TABLE file_texts (rid BIGINT, c VARCHAR, v VARCHAR)")
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
        excerpts=line_excerpts(con) if source.is_csv else {},
    )


def _is_direct(source: ColumnSource) -> bool:
    """Whether the column is the source column itself, not a constant, expression or value map."""
    return source.sql == f"raw.{quote(source.origin)}"


def _read_types(
    *, table: Table, sources: dict[str, ColumnSource], source: Source
) -> dict[str, str]:
    """Source column → the type the reader could read it as: those mapped straight to number,
    date or yes/no columns only, and not named in an expression or value map (which take text)
    nor given a format (the reader knows ISO dates only).
    """
    if source.csv_path is None:
        return {}
    wanted: dict[str, set[str]] = {}
    for column in table.columns:
        mapped = sources.get(column.name)
        if mapped is not None and _is_direct(mapped) and not mapped.format:
            wanted.setdefault(mapped.origin, set()).add(READ_TYPES.get(column.type, "VARCHAR"))
    indirect = " ".join(s.sql for s in sources.values() if not _is_direct(s)).lower()
    return {
        name: kinds.pop()
        for name, kinds in wanted.items()
        if len(kinds) == 1 and "VARCHAR" not in kinds and name.lower() not in indirect
    }


def _probe(*, source: Source, types: dict[str, str]) -> dict[str, str]:
    """The columns of `types` whose values in the file's first rows mostly pass the reader's
    cast."""
    if not types:
        return {}
    con = duckdb.connect()
    try:
        relation = source.typed_relation(types=types, rejects="probe", rejects_limit=0, probe=True)
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
        f"{REJECT_MESSAGE_SQL} FILTER (WHERE error_type <> 'CAST'), any_value(csv_line) "
        "FROM typed_errors GROUP BY line ORDER BY line"
    ).fetchall()
    malformed = [(int(line), str(message)) for line, cast, message, _ in rejected if not cast]
    failed = [(int(line), str(text)) for line, cast, _, text in rejected if cast]
    if any(len(text.encode()) >= READER_LINE_BYTES for _, text in failed):
        con.execute("DROP TABLE checked")
        return None
    recovered, unreadable = _recover(
        con=con, table=table, sources=sources, source=source, failed=failed, work_dir=work_dir
    )
    lost = {row for row, _ in unreadable}
    excerpts = {
        int(line): excerpt(str(text))
        for line, cast, _, text in rejected
        if not cast or int(line) in lost
    }
    _file_texts(
        con=con,
        sources=sources,
        source=source,
        typed=typed,
        scanned=scanned,
        skipped=[int(line) for line, *_ in rejected],
        malformed=[line for line, _ in malformed],
    )
    return Scan(
        malformed=sorted(malformed + unreadable),
        scanned=scanned,
        skipped=[int(line) for line, *_ in rejected],
        recovered=recovered,
        typed=tuple(sorted(typed)),
        excerpts=excerpts,
    )


def _file_texts(
    *,
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, ColumnSource],
    source: Source,
    typed: frozenset[str],
    scanned: int,
    skipped: list[int],
    malformed: list[int],
) -> None:
    """Add to `file_texts` (rid, column, text) the file's own text of each typed value that
    breaks a rule, so that the rejected-rows file shows "-5.00" rather than the -5.0 read.

    Only where there are such values, the file is read once more as text, and only their rows
    are kept: the n-th row that read (0-based) is the file's row n + 2 less the malformed rows
    before it, which it leaves out as the typed read did.
    """
    if not typed or source.csv_path is None:
        return  # a typed read is of a CSV only
    names = ", ".join(sql_literal(n) for n in sorted(typed))
    rids = [
        int(rid)
        for (rid,) in con.sql(
            f"SELECT rowid FROM checked WHERE rowid < {scanned} AND _errors IS NOT NULL "
            f"AND len(list_filter(_errors, lambda x: x.c IN ({names}))) > 0 ORDER BY rowid"
        ).fetchall()
    ]
    if not rids:
        return
    row_of = _row_numbers(skipped)
    places = [row_of(rid) - 2 - bisect.bisect_left(malformed, row_of(rid)) for rid in rids]
    con.execute(
        "CREATE TABLE text_rows AS SELECT unnest(?::BIGINT[]) AS rid, unnest(?::BIGINT[]) AS place",
        [rids, places],
    )
    columns = sorted(typed)
    relation = csv_relation(
        source.csv_path, source.columns, rejects="texts", delimiter=source.delimiter
    )
    read = ", ".join(f"{quote(sources[c].origin)} AS {quote('_t_' + c)}" for c in columns)
    texts = ", ".join(f"{{'c': {sql_literal(c)}, 'v': {quote('_t_' + c)}}}" for c in columns)
    con.execute(
        f"INSERT INTO file_texts SELECT rid, unnest([{texts}], recursive := true) FROM "
        f"(SELECT row_number() OVER () - 1 AS place, {read} FROM {relation}) "
        "JOIN text_rows USING (place)"
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
        csv.writer(handle, lineterminator="\n", delimiter=source.delimiter).writerow(source.columns)
        for _row, line in failed:
            # The reader keeps the line break before a line in its text where lines end in \r\n.
            handle.write(line.strip("\r\n") + "\n")
    relation = csv_relation(path, source.columns, rejects="recovered", delimiter=source.delimiter)
    sql = _checked_sql(table=table, sources=sources, relation=relation, typed=frozenset())
    con.execute(f"INSERT INTO checked {sql}")
    # Line n of recovered.csv (its header is line 1) is failed[n - 2].
    unreadable = [
        (failed[line - 2][0], message)
        for line, message in malformed_lines(con, errors_table="recovered_errors")
    ]
    lost = {row for row, _ in unreadable}
    return [row for row, _ in failed if row not in lost], unreadable


def file_order(*, con: duckdb.DuckDBPyConnection, scan: Scan) -> tuple[str, str]:
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


def _row_numbers(skipped: list[int]) -> Callable[[int], int]:
    """Place in a scan → row in the file (header = 1), given the rows the scan left out."""
    lines = sorted(set(skipped))
    good_before = [line - 2 - index for index, line in enumerate(lines)]
    return lambda rid: rid + 2 + bisect.bisect_right(good_before, rid)
