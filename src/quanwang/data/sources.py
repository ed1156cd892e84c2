"""Turning an operator's file into a DuckDB staging table of text columns, whatever its format.

CSV (UTF-8 with or without BOM, GBK/GB18030 transcoded in a stream), XLSX (streamed with
calamine) and Parquet. Memory stays bounded: DuckDB spills to disk, and transcoding and XLSX
conversion go through temporary files in fixed-size chunks.
"""

from __future__ import annotations

import codecs
import csv
import datetime
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from quanwang.core.tabular import detect_encoding, normalise_encoding
from quanwang.data.warehouse import quote, scalar_int, sql_literal

CHUNK_BYTES = 16 << 20


class SourceError(Exception):
    """The whole file cannot be read; the message names the file and what is wrong."""


@dataclass
class StagedSource:
    """`raw` holds the file's data rows as text with their row numbers (`_row`, header = 1)."""

    columns: list[str]
    rows: int
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (row, message)


def _transcode(path: Path, encoding: str, target: Path) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as sink:
        offset = 0
        while chunk := source.read(CHUNK_BYTES):
            try:
                sink.write(decoder.decode(chunk))
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path.name}: byte {offset + exc.start} is not valid {encoding}; "
                    "name the encoding with --encoding"
                ) from exc
            offset += len(chunk)
        sink.write(decoder.decode(b"", final=True))


def _xlsx_to_csv(path: Path, target: Path) -> None:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    sheet = workbook.get_sheet_by_index(0)
    with target.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink)
        for row in sheet.iter_rows():
            writer.writerow(["" if v is None else _cell_text(v) for v in row])


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.date):  # a datetime is a date too; keep the day only
        return value.isoformat()[:10]
    return str(value)


def stage(
    *, con: duckdb.DuckDBPyConnection, path: Path, encoding: str | None, work_dir: Path
) -> StagedSource:
    """Load `path` into the table `raw` of `con`."""
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise SourceError(f"{path.name}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _stage_parquet(con=con, path=path)
    csv_path = path
    if suffix in {".xlsx", ".xlsm"}:
        csv_path = work_dir / "source.csv"
        _xlsx_to_csv(path, csv_path)
    elif suffix not in {".csv", ".txt"}:
        raise SourceError(f"{path.name}: use a .csv, .xlsx or .parquet file")
    else:
        chosen = normalise_encoding(encoding) if encoding else detect_encoding(path)
        if chosen != "utf-8-sig":
            csv_path = work_dir / "source.csv"
            _transcode(path, chosen, csv_path)
    return _stage_csv(con=con, path=csv_path, display_name=path.name)


def _header(path: Path, display_name: str) -> list[str]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{display_name}: row 1 is not valid UTF-8; name the encoding, e.g. --encoding gbk"
        ) from exc
    if not first:
        raise SourceError(f"{display_name}: row 1 (the header) is empty")
    names = [name.strip() for name in first]
    for index, name in enumerate(names, start=1):
        if not name:
            raise SourceError(
                f"{display_name}: row 1, column {index} has no name "
                "(an empty or merged header cell)"
            )
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SourceError(f"{display_name}: row 1 names a column twice: {sorted(duplicates)}")
    return names


def _stage_csv(*, con: duckdb.DuckDBPyConnection, path: Path, display_name: str) -> StagedSource:
    names = _header(path, display_name)
    columns = "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in names) + "}"
    con.execute(
        f"CREATE TABLE raw_unnumbered AS SELECT * FROM read_csv({sql_literal(str(path))}, "
        f"header=true, columns={columns}, ignore_errors=true, store_rejects=true, "
        "quote='\"', escape='\"', null_padding=false, auto_detect=false, delim=',')"
    )
    malformed_lines = con.sql(
        "SELECT line, min(error_message) FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    if not malformed_lines:
        # No gaps: the row number is the insertion order, without copying the table.
        con.execute("CREATE VIEW raw AS SELECT rowid + 2 AS _row, * FROM raw_unnumbered")
    else:
        # Rows DuckDB rejected are gaps in the numbering: put each good row back on its line.
        con.execute(
            "CREATE TABLE rejected_lines AS SELECT line, line - 2 - "
            "(row_number() OVER (ORDER BY line) - 1) AS good_before "
            "FROM (SELECT DISTINCT line FROM reject_errors)"
        )
        con.execute(
            "CREATE TABLE raw AS SELECT r.rowid + 2 + coalesce(g.n, 0) AS _row, r.* "
            "FROM raw_unnumbered r ASOF LEFT JOIN (SELECT good_before, "
            "row_number() OVER (ORDER BY line) AS n FROM rejected_lines) g "
            "ON r.rowid >= g.good_before"
        )
        con.execute("DROP TABLE raw_unnumbered")
    count = scalar_int(con, "SELECT count(*) FROM raw")
    return StagedSource(
        columns=names,
        rows=int(count),
        malformed=[(int(line), str(message)) for line, message in malformed_lines],
    )


def _stage_parquet(*, con: duckdb.DuckDBPyConnection, path: Path) -> StagedSource:
    source = f"read_parquet({sql_literal(str(path))})"
    names = [str(n) for n in con.sql(f"SELECT * FROM {source} LIMIT 0").columns]
    casts = ", ".join(f"CAST({quote(n)} AS VARCHAR) AS {quote(n)}" for n in names)
    numbered = f"read_parquet({sql_literal(str(path))}, file_row_number=true)"
    con.execute(f"CREATE TABLE raw AS SELECT file_row_number + 2 AS _row, {casts} FROM {numbered}")
    count = scalar_int(con, "SELECT count(*) FROM raw")
    return StagedSource(columns=names, rows=int(count))
