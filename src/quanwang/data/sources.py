"""Reading an operator's file as rows of text columns in file order, whatever its format.

CSV and TXT (data.text_files: UTF-8 read in place, GBK/GB18030 and UTF-16 transcoded in a
stream; comma, tab, semicolon or pipe separated), Excel workbooks (data.workbooks: .xlsx,
.xlsm and .xls, streamed with calamine) and Parquet. The file is opened as a DuckDB relation
that the importer scans once; memory stays bounded because transcoding and workbook conversion
go through temporary files in fixed-size chunks and DuckDB spills to disk.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import duckdb
from django.utils.translation import gettext as _

from quanwang.data import text_files
from quanwang.data.text_files import SourceError as SourceError  # raised there too
from quanwang.data.text_files import file_encoding, sniff_separator, utf8_copy
from quanwang.data.warehouse import quote, sql_literal

# The reader's kinds of error for a row it rejects, the one that names the row's fault first:
# a row too long or in another encoding may break other rules only because of it.
_ERROR_PRIORITY = (
    "CASE error_type WHEN 'LINE SIZE OVER MAXIMUM' THEN 0 WHEN 'INVALID ENCODING' THEN 1 ELSE 2 END"
)
REJECT_MESSAGE_SQL = f"arg_min(error_message, {_ERROR_PRIORITY})"
# The text of a rejected row kept for the quarantine file (the reader keeps 10,000 bytes).
EXCERPT_CHARS = 2048


class Delimiter(StrEnum):
    """The field separators a text file may use (`ReadOptions.delimiter`)."""

    COMMA = ","
    TAB = "\t"
    SEMICOLON = ";"
    PIPE = "|"


# What the CLI's --delimiter and the console's choice call each separator.
DELIMITER_NAMES = {
    "comma": Delimiter.COMMA,
    "tab": Delimiter.TAB,
    "semicolon": Delimiter.SEMICOLON,
    "pipe": Delimiter.PIPE,
}


@dataclass(frozen=True, kw_only=True)
class ReadOptions:
    """How to read the file, where the user names it rather than leaving it to detection."""

    encoding: str | None = None  # utf-8, gbk, ...; detected when None
    delimiter: Delimiter | None = None  # a text file's separator; detected when None
    sheet: str | None = None  # a workbook's sheet by name, or ALL_SHEETS
    header_row: int | None = None  # the header's row (1 = the first); found when None

    def as_params(self) -> dict[str, str | int | None]:
        """JSON-safe, for a job's params (`from_params` reads them back)."""
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter.name.lower() if self.delimiter else None,
            "sheet": self.sheet,
            "header_row": self.header_row,
        }

    @classmethod
    def from_params(
        cls,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | None = None,
        header_row: int | None = None,
    ) -> ReadOptions:
        return cls(
            encoding=encoding,
            delimiter=DELIMITER_NAMES[delimiter] if delimiter else None,
            sheet=sheet,
            header_row=header_row,
        )


# `ReadOptions.sheet` for "every sheet, one after the other" (their headers must agree).
ALL_SHEETS = "all"


@dataclass
class Source:
    """`relation` is SQL for the file's data rows as VARCHAR columns, in file order.

    For a CSV, rows DuckDB cannot parse are left out of the scan; `malformed_lines` lists them
    once the relation has been scanned.
    """

    columns: list[str]
    relation: str
    is_csv: bool
    csv_path: Path | None = None  # the UTF-8 CSV that `relation` reads, for reads with types
    delimiter: str = ","  # the CSV's separator, for every read of csv_path

    def typed_relation(
        self, *, types: dict[str, str], rejects: str, rejects_limit: int, probe: bool = False
    ) -> str:
        """`relation` with the named columns read as DuckDB types; a row whose value does not
        convert is left out and recorded, with its text, in `<rejects>_errors`. `probe`: for a
        look at the first rows only, with the reader's own row limit (see csv_relation)."""
        if self.csv_path is None:
            raise ValueError("only a CSV source can be read with types")
        return csv_relation(
            self.csv_path,
            self.columns,
            types=types,
            rejects=rejects,
            rejects_limit=rejects_limit,
            delimiter=self.delimiter,
            row_max_bytes=None if probe else text_files.ROW_MAX_BYTES,
        )


def open_source(
    *,
    path: Path,
    work_dir: Path,
    options: ReadOptions | None = None,
    encoding: str | None = None,
    header_names: Collection[str] = (),
) -> Source:
    """Check the file and its header; transcode or convert it where DuckDB cannot read it.
    `encoding` alone is shorthand for `options` naming only it. `header_names`: what the
    header may say (the target's columns and labels), to find a workbook's header row."""
    options = options or ReadOptions(encoding=encoding)
    encoding = options.encoding
    if not path.is_file():
        raise SourceError(_("%(file)s: file not found") % {"file": path})
    if path.stat().st_size == 0:
        raise SourceError(_("%(file)s: the file is empty") % {"file": path.name})
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _parquet_source(path)
    # --- geo (issue 16): a GeoJSON FeatureCollection, read as rows by data.geometry (imported
    # here, as it builds on this module).
    if suffix in {".geojson", ".json"}:
        from quanwang.data.geometry import geojson_source

        return geojson_source(path=path, work_dir=work_dir)
    # --- end geo
    csv_path = path
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        # Sheets, header row, merged cells, totals rows: data.workbooks (imported here, as it
        # builds on this module).
        from quanwang.data.workbooks import workbook_source

        return workbook_source(
            path=path, work_dir=work_dir, options=options, header_names=header_names
        )
    elif suffix not in {".csv", ".txt"}:
        raise SourceError(
            _("%(file)s: use a .csv, .xlsx, .xls, .parquet or .geojson file") % {"file": path.name}
        )
    else:
        csv_path = utf8_copy(path, encoding=file_encoding(path, named=encoding), work_dir=work_dir)
    delimiter = options.delimiter or sniff_separator(csv_path)
    names = _header(csv_path, path.name, delimiter)
    relation = csv_relation(csv_path, names, delimiter=delimiter)
    return Source(
        columns=names, relation=relation, is_csv=True, csv_path=csv_path, delimiter=delimiter
    )


def csv_relation(
    path: Path,
    names: list[str],
    *,
    types: dict[str, str] | None = None,
    rejects: str | None = None,
    rejects_limit: int = 0,
    delimiter: str = ",",
    row_max_bytes: int | None = -1,
) -> str:
    """read_csv of a UTF-8 CSV with a header, its columns VARCHAR unless `types` names them.

    Rows that cannot be parsed are left out and recorded in `reject_errors`, or in
    `<rejects>_errors` where named, so that two scans' rejects stay apart. So is a row longer
    than text_files.ROW_MAX_BYTES: DuckDB's default limit (2 MB) lets a row longer than its
    32 MB buffer vanish from both the rows and the rejects. `row_max_bytes`: None for DuckDB's
    default, which a read of the first rows only should keep: with 32 MB the reader fills a
    buffer of that size before its first row (0.4 s against 0.05 s); -1 for ROW_MAX_BYTES.
    """
    types = types or {}
    if row_max_bytes == -1:
        row_max_bytes = text_files.ROW_MAX_BYTES
    columns = (
        "{"
        + ", ".join(f"{sql_literal(n)}: {sql_literal(types.get(n, 'VARCHAR'))}" for n in names)
        + "}"
    )
    options = ""
    if rejects is not None:
        options = (
            f", rejects_table={sql_literal(rejects + '_errors')}, "
            f"rejects_scan={sql_literal(rejects + '_scans')}, rejects_limit={rejects_limit}"
        )
    if "DATE" in types.values():
        # The reader then takes only ISO dates (2024-01-05, 2024-1-5), each as the date a plain
        # cast gives; 2024/1/5, 20240105, serials or a time zone are left to the text path.
        options += ", dateformat='%Y-%m-%d'"
    return (
        f"read_csv({sql_literal(str(path))}, header=true, columns={columns}, "
        "ignore_errors=true, store_rejects=true, quote='\"', escape='\"', "
        f"null_padding=false, auto_detect=false, delim={sql_literal(delimiter)}"
        f"{'' if row_max_bytes is None else f', max_line_size={row_max_bytes}'}{options})"
    )


def _header(path: Path, display_name: str, delimiter: str = ",") -> list[str]:
    first = text_files.first_row(path, display_name=display_name, delimiter=delimiter)
    if not first:
        raise SourceError(_("%(file)s: row 1 (the header) is empty") % {"file": display_name})
    names = [name.strip() for name in first]
    for index, name in enumerate(names, start=1):
        if not name:
            raise SourceError(
                _("%(file)s: row 1, column %(column)d has no name (an empty or merged header cell)")
                % {"file": display_name, "column": index}
            )
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SourceError(
            _("%(file)s: row 1 names a column twice: %(columns)s")
            % {"file": display_name, "columns": ", ".join(sorted(duplicates))}
        )
    return names


def malformed_lines(
    con: duckdb.DuckDBPyConnection, *, errors_table: str = "reject_errors"
) -> list[tuple[int, str]]:
    """(row, message) for each CSV row the scans left out, header = row 1."""
    rows = con.sql(
        f"SELECT line, {REJECT_MESSAGE_SQL} FROM {quote(errors_table)} GROUP BY line ORDER BY line"
    ).fetchall()
    return [(int(line), str(message)) for line, message in rows]


def line_excerpts(
    con: duckdb.DuckDBPyConnection, *, errors_table: str = "reject_errors"
) -> dict[int, str]:
    """Row → the start of its text, for each CSV row the scans left out."""
    rows = con.sql(
        f"SELECT line, left(any_value(csv_line), {EXCERPT_CHARS + 2}) "
        f"FROM {quote(errors_table)} GROUP BY line"
    ).fetchall()
    return {int(line): excerpt(str(text or "")) for line, text in rows}


def excerpt(line: str) -> str:
    """The start of a rejected row's text, without the line breaks the reader keeps around it
    (before it where lines end in CR LF)."""
    return line.strip("\r\n")[:EXCERPT_CHARS]


def _parquet_source(path: Path) -> Source:
    source = f"read_parquet({sql_literal(str(path))})"
    try:
        names = [str(n) for n in duckdb.connect().sql(f"SELECT * FROM {source} LIMIT 0").columns]
    except duckdb.Error as exc:
        raise SourceError(
            _("%(file)s: not a readable Parquet file (%(detail)s)")
            % {"file": path.name, "detail": exc}
        ) from exc
    casts = ", ".join(f"CAST({quote(n)} AS VARCHAR) AS {quote(n)}" for n in names)
    return Source(columns=names, relation=f"(SELECT {casts} FROM {source})", is_csv=False)
