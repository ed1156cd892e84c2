"""Reading an Excel workbook (.xlsx, .xlsm, .xls) as the CSV the importer scans.

Which sheet: the one sheet holding data, or the one the user names (`ReadOptions.sheet`), or
with ALL_SHEETS every visible sheet holding data in turn (their headers must name the same
columns). A workbook with data on several sheets and no choice is refused, naming them: the
first sheet is never read in silence. Hidden sheets are read only when named.

Which row is the header: the one named (`ReadOptions.header_row`), or the first of the sheet's
first HEADER_SEARCH_ROWS rows naming most of the target table's columns (by name or label, or
a mapping's source columns), or else the first row of text cells at least half as wide as the
widest. Rows above it (a title, a date, a blank row) are not data.

Rows below it: each is loaded, or set aside for the quarantine with its reason, never dropped:
a totals row (合计, 总计, 小计, Total) as `totals`; a row with an Excel error value (#N/A,
#DIV/0!) or a formula saved without its result in a named column as `type`; a row with a value
in a column the header does not name as `malformed`. Merged cells in data rows are filled: the
merged range's value is copied to every cell of the range (a 区县 merged down its rows). Hidden
columns are not loaded and hidden rows are: both are reported in `notes`. A wholly empty row
holds no value and is skipped.

Values: text as it is; numbers at Excel's 15 significant digits (0.1+0.2 is 0.3, as Excel shows
it and as every typed number is), whole numbers without a decimal point; dates as ISO
(2024-01-05, with the time where it is not midnight); booleans as true/false.

Rows are streamed from calamine to the CSV (calamine holds the sheet's cells, the converter one
row and the merged ranges); the quarantine's `row` is the row in its sheet and its `file`
names the sheet: `book.xlsx:Sheet2`.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import re
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from quanwang.data.rejects import Reject, RejectRow, reason_text
from quanwang.data.schema import Table
from quanwang.data.sources import ALL_SHEETS, ReadOptions, Source, SourceError, csv_relation
from quanwang.data.workbook_facts import (
    NOT_CALCULATED,
    SheetFacts,
    column_letters,
    xls_facts,
    xlsx_facts,
)

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
HEADER_SEARCH_ROWS = 30
# A totals row's first value, spaces removed: 合计, 总计, 小计, 共计, Total, Grand total ...
TOTALS = re.compile(r"(总?合计|总计|小计|共计|(grand|sub-?)?totals?)[:：]?", re.IGNORECASE)
TOTALS_FIRST = frozenset("合总小共GgSsTt")
LISTED_ROWS = 10  # row numbers a note lists before "…"

Cell = Any  # what calamine gives: str, int, float, bool, date, datetime, time, timedelta


@dataclass
class WorkbookSource(Source):
    """A workbook's rows as CSV, and where each row of the CSV lies in the workbook.

    `set_aside`: the rows kept out of the CSV for the quarantine, numbered after the CSV's last
    row so that a row's number stays one per row; `place` gives any row's sheet and row.
    """

    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    set_aside: list[RejectRow] = field(default_factory=list)
    # (first CSV row, sheet index, its row in the sheet), for runs of consecutive rows
    runs: list[tuple[int, int, int]] = field(default_factory=list)
    aside_places: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def set_aside_rows(self) -> int:
        return len(self.aside_places)

    def place(self, row: int) -> tuple[int, int]:
        """(sheet index, row in that sheet) of a CSV row (header = 1) or a set-aside row."""
        if row in self.aside_places:
            return self.aside_places[row]
        index = bisect.bisect_right(self.runs, (row, len(self.sheets), 0)) - 1
        if index < 0:
            return 0, row
        first, sheet, sheet_row = self.runs[index]
        return sheet, sheet_row + row - first

    def with_set_aside(self, rejects: Iterable[RejectRow]) -> list[RejectRow]:
        """`rejects` and the set-aside rows, in workbook order."""
        return sorted(chain(rejects, self.set_aside), key=lambda r: (self.place(r[0]), r[1]))

    def labelled(self, file_name: str, row: int) -> tuple[str, int]:
        """The quarantine's file and row for a row: `book.xlsx:Sheet2`, its row there."""
        sheet, sheet_row = self.place(row)
        return f"{file_name}:{self.sheets[sheet]}", sheet_row


def header_names(table: Table, mapping: dict[str, Any] | None) -> frozenset[str]:
    """What a header row of a file for `table` may say: its columns' names and labels, and the
    source columns a mapping reads."""
    names = {
        label
        for column in table.columns
        for label in (column.name, column.zh, column.en, *column.aliases)
    }
    for rule in (mapping or {}).get("columns", {}).values():
        if isinstance(rule, dict) and "from" in rule:
            names.add(str(rule["from"]))
    return frozenset(names)


def workbook_source(
    *, path: Path, work_dir: Path, options: ReadOptions, header_names: Collection[str] = ()
) -> WorkbookSource:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise SourceError(
            _("%(file)s: not a readable Excel workbook (%(detail)s)")
            % {"file": path.name, "detail": (str(exc).strip().splitlines() or [repr(exc)])[0]}
        ) from exc
    with workbook:
        target = work_dir / "source.csv"
        with target.open("w", encoding="utf-8", newline="") as sink:
            writer = _Writer(csv.writer(sink), path=path, known=header_names)
            for name, sheet in _chosen(workbook, options.sheet, path):
                writer.write_sheet(name, sheet, options.header_row)
        source = writer.finish(target)
    return source


# --- Which sheets ---------------------------------------------------------------------------


def _chosen(workbook: Any, wanted: str | None, path: Path) -> Iterator[tuple[str, Any]]:
    """(name, sheet) of each sheet to read, loaded one at a time."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    names = list(workbook.sheet_names)
    visible = [
        m.name
        for m in workbook.sheets_metadata
        if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet
    ]
    if wanted is not None and wanted.strip().lower() != ALL_SHEETS:
        name = next((n for n in names if n == wanted.strip()), None)
        if name is None:
            raise SourceError(
                _("%(file)s: no sheet is named %(sheet)s; its sheets: %(sheets)s")
                % {"file": path.name, "sheet": wanted, "sheets": ", ".join(names)}
            )
        sheet = workbook.get_sheet_by_name(name)
        if not sheet.height:
            raise SourceError(
                _("%(file)s: sheet %(sheet)s is empty") % {"file": path.name, "sheet": name}
            )
        yield name, sheet
        return
    found: list[str] = []
    first = None
    for name in visible:
        sheet = workbook.get_sheet_by_name(name)
        if not sheet.height:
            continue
        found.append(name)
        if wanted is not None:  # every sheet, one after the other
            yield name, sheet
        elif first is None:
            first = sheet
        del sheet  # only the first is kept: calamine holds all of a sheet's cells
    if not found:
        raise SourceError(
            _("%(file)s: no sheet holds data (its sheets: %(sheets)s)")
            % {"file": path.name, "sheets": ", ".join(names)}
        )
    if wanted is None and len(found) > 1:
        raise SourceError(
            _(
                "%(file)s holds data on several sheets: %(sheets)s. Choose one with --sheet "
                "NAME, or load them all, one after the other, with --sheet all (in the "
                "console: the Sheet field)."
            )
            % {"file": path.name, "sheets": ", ".join(found)}
        )
    if first is not None:
        yield found[0], first


# --- Reading a sheet -------------------------------------------------------------------------


@dataclass
class _Aside:
    sheet: int
    row: int
    column: str
    value: str
    code: Reject
    zh: str
    en: str


@dataclass
class _Writer:
    """Writes the sheets' rows to one CSV, keeping where each came from."""

    out: Any  # csv.writer
    path: Path
    known: Collection[str]
    columns: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    aside: list[_Aside] = field(default_factory=list)
    runs: list[tuple[int, int, int]] = field(default_factory=list)
    line: int = 1  # the CSV's last row written (the header is row 1)

    def write_sheet(self, name: str, sheet: Any, header_row: int | None) -> None:
        index = len(self.sheets)
        self.sheets.append(name)
        facts = self._facts(name)
        first_column = (sheet.start[1] + 1) if sheet.start else 1
        rows = enumerate(sheet.iter_rows(), start=1)
        header_at, header, rest = _find_header(
            rows, facts, first_column, header_row, self.known, self._where(name)
        )
        layout = _Layout.of(header, facts, first_column, header_at, self._where(name))
        order = self._agree(name, layout.names)
        merges = _Merges(sheet.merged_cell_ranges or [], below=header_at)
        merges.spread_errors(facts)
        # A range merged down past the sheet's last value ends in rows calamine does not give.
        rest = _padded(rest, until=merges.last_row, width=sheet.width)
        hidden: list[int] = []
        error_rows = {number for number, _column in facts.errors}
        width = len(layout.indices)
        for number, row in rest:
            if merges.pending or merges.active:
                merges.fill(number, row, first_column)
            values = [row[j] for j in layout.indices]
            outside = [
                (j, row[j])
                for j in layout.outside
                if row[j] != ""
                or (number in error_rows and (number, first_column + j) in facts.errors)
            ]
            blanks = values.count("")
            if blanks == width and not outside:
                continue
            if number in facts.hidden_rows:
                hidden.append(number)
            lead = values[0] if values[0] != "" or blanks == width else _lead(values)
            if outside or number in error_rows or _may_total(lead):
                found = self._faults(index, number, values, outside, layout, facts, first_column)
                if found:
                    self.aside.extend(found)
                    continue
            texts = [v if type(v) is str else cell_text(v) for v in values]
            self.line += 1
            self.out.writerow(texts if order is None else [texts[i] for i in order])
            last = self.runs[-1] if self.runs else None
            if last is None or last[1] != index or number - last[2] != self.line - last[0]:
                self.runs.append((self.line, index, number))
        self._note(name, header_at, layout, hidden, merges)

    def _where(self, name: str) -> _Where:
        return _Where(file=self.path.name, sheet=name)

    def _facts(self, name: str) -> SheetFacts:
        if self.path.suffix.lower() == ".xls":
            return xls_facts(self.path, name)
        return xlsx_facts(self.path, name)

    def _agree(self, name: str, names: list[str]) -> list[int] | None:
        """Write the header from the first sheet; for a later sheet, the order that puts its
        columns in the first sheet's (None: the same), or an error where they differ."""
        if not self.sheets[:-1]:
            self.columns = names
            self.out.writerow(names)
            return None
        if names == self.columns:
            return None
        if sorted(names) != sorted(self.columns):
            missing = [n for n in self.columns if n not in names]
            extra = [n for n in names if n not in self.columns]
            raise SourceError(
                _(
                    "%(file)s: the columns of sheet %(sheet)s differ from those of sheet "
                    "%(first)s (missing: %(missing)s; extra: %(extra)s); to load every sheet, "
                    "their headers must name the same columns"
                )
                % {
                    "file": self.path.name,
                    "sheet": name,
                    "first": self.sheets[0],
                    "missing": ", ".join(missing) or "-",
                    "extra": ", ".join(extra) or "-",
                }
            )
        return [names.index(n) for n in self.columns]

    def _faults(
        self,
        sheet: int,
        number: int,
        values: list[Cell],
        outside: list[tuple[int, Cell]],
        layout: _Layout,
        facts: SheetFacts,
        first_column: int,
    ) -> list[_Aside]:
        """Why the row goes to the quarantine rather than the CSV; empty for a good row."""
        found = []
        lead = next((i for i, v in enumerate(values) if v != ""), 0)
        text = values[lead] if values else None
        if isinstance(text, str) and TOTALS.fullmatch(re.sub(r"\s+", "", text)):
            zh, en = reason_text(Reject.TOTALS, None)
            found.append(_Aside(sheet, number, layout.names[lead], text, Reject.TOTALS, zh, en))
        if facts.errors:
            for position, j in enumerate(layout.indices):
                error = facts.errors.get((number, first_column + j))
                if error is None:
                    continue
                zh, en = _error_reason(error)
                column = layout.names[position]
                found.append(_Aside(sheet, number, column, error, Reject.TYPE, zh, en))
        for j, value in outside:
            letter = column_letters(first_column + j)
            text = facts.errors.get((number, first_column + j)) or cell_text(value)
            found.append(
                _Aside(
                    sheet, number, letter, text, Reject.MALFORMED,
                    f"第 {letter} 列没有列名，这一行却在该列有值",
                    f"a value in column {letter}, which the header does not name",
                )
            )  # fmt: skip
        return found

    def _note(
        self, name: str, header_at: int, layout: _Layout, hidden: list[int], merges: _Merges
    ) -> None:
        self.notes.append(
            _("Sheet %(sheet)s: the header is row %(row)d") % {"sheet": name, "row": header_at}
        )
        if layout.hidden:
            self.notes.append(
                _("Sheet %(sheet)s: hidden columns not loaded: %(columns)s")
                % {"sheet": name, "columns": ", ".join(layout.hidden)}
            )
        if hidden:
            self.notes.append(
                _("Sheet %(sheet)s: hidden rows loaded: %(count)d (rows %(rows)s)")
                % {"sheet": name, "count": len(hidden), "rows": _listed(hidden)}
            )
        if merges.filled:
            self.notes.append(
                _(
                    "Sheet %(sheet)s: merged cells filled with their range's value: %(count)d "
                    "(rows %(rows)s)"
                )
                % {"sheet": name, "count": merges.filled, "rows": _listed(merges.rows)}
            )

    def finish(self, target: Path) -> WorkbookSource:
        set_aside: list[RejectRow] = []
        places: dict[tuple[int, int], int] = {}
        for item in self.aside:
            key = (item.sheet, item.row)
            row = places.setdefault(key, self.line + 1 + len(places))
            set_aside.append((row, item.column, item.value, item.code, item.zh, item.en))
        return WorkbookSource(
            columns=self.columns,
            relation=csv_relation(target, self.columns),
            is_csv=True,
            csv_path=target,
            sheets=self.sheets,
            notes=self.notes,
            set_aside=set_aside,
            runs=self.runs,
            aside_places={row: key for key, row in places.items()},
        )


@dataclass(frozen=True)
class _Where:
    file: str
    sheet: str


def _lead(values: list[Cell]) -> Cell:
    return next(v for v in values if v != "")


def _may_total(value: Cell) -> bool:
    """Whether a row's first value may be a totals label (a cheap test before TOTALS)."""
    return type(value) is str and value.lstrip()[:1] in TOTALS_FIRST


def _error_reason(error: str) -> tuple[str, str]:
    if error == NOT_CALCULATED:
        return (
            "公式没有保存计算结果：请在 Excel 或 WPS 中打开并保存文件后重新导入",
            "a formula saved without its result: open and save the file in Excel or WPS, "
            "then import it again",
        )
    return f"单元格是 Excel 错误值 {error}", f"the cell holds the Excel error {error}"


def _listed(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:LISTED_ROWS])
    return shown + (", …" if len(rows) > LISTED_ROWS else "")


# --- The header ------------------------------------------------------------------------------


def _find_header(
    rows: Iterator[tuple[int, list[Cell]]],
    facts: SheetFacts,
    first_column: int,
    header_row: int | None,
    known: Collection[str],
    where: _Where,
) -> tuple[int, list[Cell], Iterator[tuple[int, list[Cell]]]]:
    """(row number, cells, the rows after it) of the header row."""
    if header_row is not None:
        ahead = list(islice(rows, header_row))
        if len(ahead) < header_row:
            raise SourceError(
                _("%(file)s: sheet %(sheet)s has no row %(row)d (it ends at row %(last)d)")
                % {"file": where.file, "sheet": where.sheet, "row": header_row, "last": len(ahead)}
            )
        return header_row, ahead[-1][1], rows
    ahead = list(islice(rows, HEADER_SEARCH_ROWS))
    visible = [
        (number, [v for j, v in enumerate(row) if first_column + j not in facts.hidden_columns])
        for number, row in ahead
    ]
    chosen = _likely_header(visible, {n.strip().lower() for n in known})
    if chosen is None:  # no value in the first rows: the first row with one is the header
        for number, row in rows:
            if any(v != "" for v in row):
                return number, row, rows
        raise SourceError(
            _("%(file)s: sheet %(sheet)s has no header row")
            % {"file": where.file, "sheet": where.sheet}
        )
    position = next(i for i, (number, _row) in enumerate(ahead) if number == chosen)
    return chosen, ahead[position][1], chain(ahead[position + 1 :], rows)


def _likely_header(rows: list[tuple[int, list[Cell]]], known: set[str]) -> int | None:
    """The row naming most known columns; without one, the first row of text cells at least
    half as wide as the widest row; without that, the first row with a value."""
    filled = [(number, [v for v in row if v != ""]) for number, row in rows]
    filled = [(number, cells) for number, cells in filled if cells]
    if not filled:
        return None
    matches = [
        sum(1 for v in cells if isinstance(v, str) and v.strip().lower() in known)
        for _number, cells in filled
    ]
    if max(matches) > 0:
        return filled[matches.index(max(matches))][0]
    widest = max(len(cells) for _number, cells in filled)
    for number, cells in filled:
        if len(cells) >= max(2, (widest + 1) // 2) and all(isinstance(v, str) for v in cells):
            return number
    return filled[0][0]


@dataclass
class _Layout:
    """The header's columns: `indices` into a calamine row for each named, visible column;
    `outside` the visible ones beyond them; `hidden` the hidden ones, as "C (名称)"."""

    names: list[str]
    indices: list[int]
    outside: list[int]
    hidden: list[str]

    @classmethod
    def of(
        cls, header: list[Cell], facts: SheetFacts, first_column: int, row: int, where: _Where
    ) -> _Layout:
        shown = [j for j in range(len(header)) if first_column + j not in facts.hidden_columns]
        named = [j for j in shown if cell_text(header[j]).strip() != ""]
        if not named:
            raise SourceError(
                _("%(file)s: sheet %(sheet)s, row %(row)d (the header) is empty")
                % {"file": where.file, "sheet": where.sheet, "row": row}
            )
        indices = [j for j in shown if named[0] <= j <= named[-1]]
        names = [cell_text(header[j]).strip() for j in indices]
        for j, name in zip(indices, names, strict=True):
            if not name:
                raise SourceError(
                    _(
                        "%(file)s: sheet %(sheet)s, row %(row)d, column %(column)d "
                        "(%(letter)s) has no name (an empty or merged header cell)"
                    )
                    % {
                        "file": where.file,
                        "sheet": where.sheet,
                        "row": row,
                        "column": first_column + j,
                        "letter": column_letters(first_column + j),
                    }
                )
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SourceError(
                _("%(file)s: sheet %(sheet)s, row %(row)d names a column twice: %(columns)s")
                % {
                    "file": where.file,
                    "sheet": where.sheet,
                    "row": row,
                    "columns": ", ".join(twice),
                }
            )
        hidden = [
            f"{column_letters(first_column + j)} ({cell_text(header[j]).strip()})"
            if cell_text(header[j]).strip()
            else column_letters(first_column + j)
            for j in range(len(header))
            if first_column + j in facts.hidden_columns
        ]
        outside = [j for j in shown if j not in indices]
        return cls(names=names, indices=indices, outside=outside, hidden=hidden)


# --- Merged cells ----------------------------------------------------------------------------


class _Merges:
    """The merged ranges below the header, filled row by row as the rows stream past."""

    def __init__(self, ranges: list[tuple[tuple[int, int], tuple[int, int]]], *, below: int):
        # calamine's ranges count from 0: ((first row, first column), (last row, last column))
        self.pending = deque(
            sorted(
                (r0 + 1, c0 + 1, r1 + 1, c1 + 1) for (r0, c0), (r1, c1) in ranges if r0 + 1 > below
            )
        )
        self.active: list[tuple[int, int, int, int, Cell]] = []
        self.last_row = max((m[2] for m in self.pending), default=0)
        self.filled = 0
        self.rows: list[int] = []

    def spread_errors(self, facts: SheetFacts) -> None:
        """A range whose value is an Excel error fills its cells with the error."""
        for r0, c0, r1, c1 in self.pending:
            error = facts.errors.get((r0, c0))
            if error is not None:
                for row in range(r0, r1 + 1):
                    for column in range(c0, c1 + 1):
                        facts.errors.setdefault((row, column), error)

    def fill(self, number: int, row: list[Cell], first_column: int) -> None:
        while self.pending and self.pending[0][0] <= number:
            r0, c0, r1, c1 = self.pending.popleft()
            j = c0 - first_column
            value = row[j] if 0 <= j < len(row) and r0 == number else ""
            if value != "":
                self.active.append((r0, c0, r1, c1, value))
        self.active = [m for m in self.active if m[2] >= number]
        for r0, c0, _r1, c1, value in self.active:
            for column in range(c0, c1 + 1):
                j = column - first_column
                if (number, column) != (r0, c0) and 0 <= j < len(row) and row[j] == "":
                    row[j] = value
                    self.filled += 1
                    if not self.rows or self.rows[-1] != number:
                        self.rows.append(number)


def _padded(
    rows: Iterator[tuple[int, list[Cell]]], *, until: int, width: int
) -> Iterator[tuple[int, list[Cell]]]:
    """The rows, then empty rows up to row `until`."""
    last = 0
    for number, row in rows:
        last = number
        yield number, row
    for number in range(last + 1, until + 1):
        yield number, [""] * width


# --- Cell values -----------------------------------------------------------------------------


def cell_text(value: Cell) -> str:
    """A cell as the importer reads it (see the module's docstring)."""
    kind = type(value)
    if kind is float:
        if value.is_integer():
            return str(int(value))
        shortest = repr(value)
        # At most 15 digits and no exponent: what Excel shows (DBL_DIG: any decimal of 15
        # significant digits survives a double). Otherwise Excel's 15 digits, positional.
        if len(shortest) <= 16 and "e" not in shortest:
            return shortest
        return format(Decimal(format(value, ".15g")), "f")
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return value.date().isoformat()
        spec = "milliseconds" if value.microsecond else "seconds"
        return value.isoformat(sep=" ", timespec=spec)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)
