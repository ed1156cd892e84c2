"""Reading an operator's file as rows of text columns in file order, whatever its format.

CSV (UTF-8 with or without BOM, GBK/GB18030 transcoded in a stream), XLSX (streamed with
calamine) and Parquet. The file is opened as a DuckDB relation that the importer scans once;
memory stays bounded because transcoding and XLSX conversion go through temporary files in
fixed-size chunks and DuckDB spills to disk.
"""

from __future__ import annotations

import codecs
import csv
import datetime
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import duckdb
from django.utils.translation import gettext as _

from quanwang.core.tabular import detect_encoding, normalise_encoding
from quanwang.data.warehouse import quote, sql_literal

CHUNK_BYTES = 16 << 20


class SourceError(Exception):
    """The whole file cannot be read; the message names the file and what is wrong."""


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

    def typed_relation(self, *, types: dict[str, str], rejects: str, rejects_limit: int) -> str:
        """`relation` with the named columns read as DuckDB types; a row whose value does not
        convert is left out and recorded, with its text, in `<rejects>_errors`."""
        if self.csv_path is None:
            raise ValueError("only a CSV source can be read with types")
        return csv_relation(
            self.csv_path,
            self.columns,
            types=types,
            rejects=rejects,
            rejects_limit=rejects_limit,
        )


def _transcode(path: Path, encoding: str, target: Path) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as sink:
        offset = 0
        while chunk := source.read(CHUNK_BYTES):
            try:
                sink.write(decoder.decode(chunk))
            except UnicodeDecodeError as exc:
                raise SourceError(
                    _(
                        "%(file)s: byte %(byte)d is not valid %(encoding)s; name the file's "
                        "encoding (e.g. gbk)"
                    )
                    % {"file": path.name, "byte": offset + exc.start, "encoding": encoding}
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


def open_source(
    *,
    path: Path,
    work_dir: Path,
    options: ReadOptions | None = None,
    encoding: str | None = None,
) -> Source:
    """Check the file and its header; transcode or convert it where DuckDB cannot read it.
    `encoding` alone is shorthand for `options` naming only it."""
    options = options or ReadOptions(encoding=encoding)
    encoding = options.encoding
    if not path.is_file():
        raise SourceError(_("%(file)s: file not found") % {"file": path})
    if path.stat().st_size == 0:
        raise SourceError(_("%(file)s: the file is empty") % {"file": path.name})
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _parquet_source(path)
    csv_path = path
    if suffix in {".xlsx", ".xlsm"}:
        csv_path = work_dir / "source.csv"
        _xlsx_to_csv(path, csv_path)
    elif suffix not in {".csv", ".txt"}:
        raise SourceError(_("%(file)s: use a .csv, .xlsx or .parquet file") % {"file": path.name})
    else:
        chosen = normalise_encoding(encoding) if encoding else detect_encoding(path)
        if chosen != "utf-8-sig":
            csv_path = work_dir / "source.csv"
            _transcode(path, chosen, csv_path)
    names = _header(csv_path, path.name)
    relation = csv_relation(csv_path, names)
    return Source(columns=names, relation=relation, is_csv=True, csv_path=csv_path)


def csv_relation(
    path: Path,
    names: list[str],
    *,
    types: dict[str, str] | None = None,
    rejects: str | None = None,
    rejects_limit: int = 0,
) -> str:
    """read_csv of a UTF-8 CSV with a header, its columns VARCHAR unless `types` names them.

    Rows that cannot be parsed are left out and recorded in `reject_errors`, or in
    `<rejects>_errors` where named, so that two scans' rejects stay apart.
    """
    types = types or {}
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
        f"null_padding=false, auto_detect=false, delim=','{options})"
    )


def _header(path: Path, display_name: str) -> list[str]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise SourceError(
            _("%(file)s: row 1 is not valid UTF-8; name the file's encoding (e.g. gbk)")
            % {"file": display_name}
        ) from exc
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
        f"SELECT line, min(error_message) FROM {quote(errors_table)} GROUP BY line ORDER BY line"
    ).fetchall()
    return [(int(line), str(message)) for line, message in rows]


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
