"""Tabular files in and out: operators' CSV exports read, and every CSV and XLSX we write.

Reading: UTF-8 (with or without BOM), GBK/GB18030 or UTF-16 with a BOM.

Writing: every CSV and XLSX file the product writes (staff export, rejected rows, insight and
task-list workbooks, campaign reports, call lists, scores) goes through the writers here, so
that formula injection is handled in one place. OWASP's rule: a text cell starting with
= + - @ tab or CR is prefixed with a single quote, so a spreadsheet shows it instead of running
it as a formula (=HYPERLINK(...) leaking the row, =cmd|... running a program); in XLSX, text is
also written as a string cell, never a formula. Numbers, dates and empty cells are written as
they are: a negative number is a number, not text. Files are created mode 0600 (they hold
subscribers' data) and appear whole: written beside the target, then renamed over it.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _

CANDIDATE_ENCODINGS = ("utf-8-sig", "gb18030", "utf-16")
SNIFF_BYTES = 1 << 20
SNIFF_LIMIT = 64 << 20  # how far into a file that is ASCII so far detection looks
#: A text cell starting with one of these is read by spreadsheets as a formula (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: ...unless the whole cell is a plain number such as -5 or +1.5e3: a spreadsheet reads that
#: as the number, no formula, and a quote would turn a negative value into text.
PLAIN_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER)
PRIVATE_MODE = 0o600


@dataclass(frozen=True)
class RowError:
    """One rejected value, named by file, row, field, value and reason."""

    file: str
    row: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return _("%(file)s, row %(row)d, field %(field)s = “%(value)s”: %(reason)s") % {
            "file": self.file,
            "row": self.row,
            "field": self.field,
            "value": self.value,
            "reason": self.reason,
        }


def detect_encoding(path: Path) -> str:
    """utf-16 where the file starts with a UTF-16 byte-order mark. Otherwise UTF-8 (utf-8-sig)
    or GB18030 (a superset of GBK), by a vote of the lines that hold non-ASCII text in the first
    megabyte that has any (within SNIFF_LIMIT; a file that is ASCII so far is UTF-8): UTF-8
    where at least as many of them decode as UTF-8 as do not. A vote rather than "does the
    sample decode" keeps one GBK row from making a UTF-8 file read as GBK, which would garble
    all its other rows."""
    with path.open("rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
        handle.seek(0)
        tail, looked = b"", 0
        while looked < SNIFF_LIMIT:
            chunk = handle.read(SNIFF_BYTES)
            looked += len(chunk)
            if chunk and chunk.isascii() and tail.isascii():
                # Nothing to judge yet; only what follows the last line break is carried.
                cut = chunk.rfind(b"\n")
                tail = chunk[cut + 1 :] if cut >= 0 else (tail + chunk)[-SNIFF_BYTES:]
                continue
            sample = tail + chunk
            cut = sample.rfind(b"\n") + 1 if chunk else len(sample)
            if len(sample) - cut > SNIFF_BYTES:
                cut = len(sample)  # a line longer than a megabyte: judge what there is of it
            lines, tail = sample[:cut], sample[cut:]
            if not lines.isascii():
                utf8, other = _utf8_votes(lines)
                if utf8 or other:
                    return "utf-8-sig" if utf8 >= other else "gb18030"
            if not chunk:
                break
    return "utf-8-sig"


def _utf8_votes(lines: bytes) -> tuple[int, int]:
    """How many of the lines with non-ASCII bytes decode as UTF-8, and how many do not (a line
    cut short at the end of the sample is judged on what there is of it)."""
    utf8 = other = 0
    for line in lines.split(b"\n"):
        if line.isascii():
            continue
        try:
            codecs.getincrementaldecoder("utf-8")().decode(line, final=False)
        except UnicodeDecodeError:
            other += 1
        else:
            utf8 += 1
    return utf8, other


def normalise_encoding(name: str) -> str:
    lowered = name.strip().lower().replace("_", "-")
    if lowered in {"gbk", "gb2312", "gb18030", "cp936"}:
        return "gb18030"
    if lowered in {"utf8", "utf-8", "utf-8-sig"}:
        return "utf-8-sig"
    if lowered in {"utf16", "utf-16", "unicode"}:
        return "utf-16"
    return lowered


def read_csv(path: Path, *, encoding: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number as a spreadsheet shows it, row). The header is row 1."""
    chosen = normalise_encoding(encoding) if encoding else detect_encoding(path)
    with path.open("r", encoding=chosen, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            return
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
        for index, row in enumerate(reader, start=2):
            yield index, {k: (v or "").strip() for k, v in row.items() if k is not None}


def write_errors(path: Path, errors: list[RowError]) -> None:
    write_csv(
        path,
        header=["file", "row", "field", "value", "reason"],
        rows=([e.file, e.row, e.field, e.value, e.reason] for e in errors),
    )


# --- Writing ------------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """The value as a cell may hold it: text that would start a formula gets a leading single
    quote; anything else (numbers, the text of a plain number, dates, None) is returned
    unchanged."""
    if isinstance(value, Promise):  # a lazily translated label is text
        value = str(value)
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_TRIGGERS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def _write_rows(writer: Any, header: Sequence[Any] | None, rows: Iterable[Sequence[Any]]) -> None:
    if header is not None:
        writer.writerow([neutralise(v) for v in header])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])


def csv_text(*, header: Sequence[Any] | None, rows: Iterable[Sequence[Any]]) -> str:
    """CSV text of the rows (for a download answered in memory), cells neutralised."""
    buffer = io.StringIO()
    _write_rows(csv.writer(buffer), header, rows)
    return buffer.getvalue()


def write_csv(
    path: Path,
    *,
    header: Sequence[Any] | None,
    rows: Iterable[Sequence[Any]],
    encoding: str = "utf-8-sig",
) -> None:
    """A CSV file of the rows, cells neutralised; UTF-8 with a BOM so that Excel reads the
    Chinese right."""
    with private_file(path, "w", encoding=encoding, newline="") as handle:
        _write_rows(csv.writer(handle), header, rows)


@contextmanager
def private_file(path: Path, mode: str = "wb", **options: Any) -> Iterator[IO[Any]]:
    """A file to write that replaces `path` when the block ends: mode 0600, written beside it
    and renamed, so a reader never sees half a file and a failure leaves none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600 whatever the umask.
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, mode, **options) as opened:
            yield opened
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes) -> None:
    """Bytes made elsewhere (a PDF, a finished workbook) as a 0600 file."""
    with private_file(path) as handle:
        handle.write(data)


def new_workbook(*, write_only: bool = False) -> Any:
    """An empty openpyxl workbook; add its rows with `append_row` only."""
    from openpyxl import Workbook

    return Workbook(write_only=write_only)


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A cell for `sheet` (normal or write-only): text neutralised and typed as a string, so
    openpyxl never stores it as a formula; other values as openpyxl types them. Control
    characters XML cannot hold are dropped from text."""
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

    if isinstance(value, str | Promise):
        # XML cannot hold most control characters: openpyxl would refuse the whole file.
        # Removed before the check, so that "\x01=cmd" is seen as the formula it becomes.
        value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    value = neutralise(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append one row of neutralised cells to an openpyxl worksheet."""
    sheet.append([xlsx_cell(sheet, value) for value in values])


def workbook_bytes(book: Any) -> bytes:
    """An openpyxl workbook whose rows were added with `append_row`, as XLSX bytes."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


#: The clock a reproducible workbook's zip entries and document properties carry.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def reproducible_xlsx(data: bytes) -> bytes:
    """The workbook with its clock stamps fixed: the same content gives the same bytes (a
    statement exported twice is byte for byte the same file)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = _STAMP.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            fixed = zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, content)
    return out.getvalue()


def save_workbook(book: Any, path: Path) -> None:
    """An openpyxl workbook whose rows were added with `append_row`, as a 0600 file."""
    with private_file(path) as handle:
        book.save(handle)


def write_arrow_csv(table: Any, path: Path) -> None:
    """A pyarrow table as a 0600 CSV file, its text columns neutralised by the same rule (in
    Arrow, so that a million scores need no Python loop)."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]
    import pyarrow.csv as pacsv  # type: ignore[import-untyped]

    for index, field in enumerate(table.schema):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        column = table.column(index)
        risky = pc.starts_with(column, FORMULA_TRIGGERS[0])
        for trigger in FORMULA_TRIGGERS[1:]:
            risky = pc.or_(risky, pc.starts_with(column, trigger))
        number = pc.match_substring_regex(column, f"^(?:{PLAIN_NUMBER})$")
        risky = pc.and_(risky, pc.invert(number))
        quoted = pc.binary_join_element_wise("'", column, "")
        table = table.set_column(index, field, pc.if_else(risky, quoted, column))
    with private_file(path) as handle:
        pacsv.write_csv(table, handle)
