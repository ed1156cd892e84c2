"""Evaluating any two-arm experiment from a file: the lift of each outcome, with 95% intervals.

The file (CSV in UTF-8 or GBK, XLSX, Parquet; read by `data.sources` into DuckDB) has one row
per customer: a column naming each customer's arm, yes/no outcomes (0/1, true/false) and
amounts. Two values of the arm column are compared, treated against control; rows of any other
arm (a third e-mail version) or without an arm are counted and left out. The statistics are
`experiment_stats`'; `experiment_report` prints and writes them. `quanwang evaluate-experiment`
and the console page 评估实验文件 both call `evaluate_file`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from django.utils.translation import gettext as _

from quanwang.campaigns.evaluation import DEFAULT_CONFIDENCE, Interval
from quanwang.campaigns.experiment_stats import (
    ArmFigures,
    IntervalMethod,
    LiftCaveat,
    Measure,
    OutcomeLift,
    mean_lift,
    rate_lift,
)
from quanwang.data.sources import SourceError, malformed_lines, open_source
from quanwang.data.warehouse import quote, sql_literal

# A column with at most this many distinct values can name the arms; the page offers them.
MAX_ARM_VALUES = 50
# Values shown in an error that lists what a column holds.
SHOWN_VALUES = 10


class ExperimentError(ValueError):
    """The file cannot be evaluated as asked; the message names the file and the column."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, kw_only=True)
class ExperimentDesign:
    """What to compare: two values of the arm column, and the outcomes to measure."""

    group: str
    treated: str
    control: str
    outcomes: tuple[str, ...] = ()  # yes/no (0/1): compared by rate
    revenue: tuple[str, ...] = ()  # amounts: compared by mean
    confidence: float = DEFAULT_CONFIDENCE


@dataclass(frozen=True)
class ColumnSummary:
    name: str
    numeric: bool  # every non-empty value reads as a number (or true/false)
    distinct: int  # distinct non-empty values
    values: list[str] = field(default_factory=list)  # sorted, when at most MAX_ARM_VALUES


@dataclass(frozen=True)
class FileSummary:
    name: str
    rows: int
    columns: list[ColumnSummary]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileSummary:
        columns = [ColumnSummary(**c) for c in data["columns"]]
        return cls(name=data["name"], rows=data["rows"], columns=columns)


@dataclass(frozen=True)
class ExperimentResult:
    file: str
    design: ExperimentDesign
    rows: int  # every data row of the file
    treated_rows: int
    control_rows: int
    other_rows: int  # rows of other arms or without one: left out
    lifts: list[OutcomeLift]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON (the console keeps the result in the session for its download)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExperimentResult:
        design = dict(data["design"])
        design["outcomes"] = tuple(design["outcomes"])
        design["revenue"] = tuple(design["revenue"])
        return cls(
            file=data["file"],
            design=ExperimentDesign(**design),
            rows=data["rows"],
            treated_rows=data["treated_rows"],
            control_rows=data["control_rows"],
            other_rows=data["other_rows"],
            lifts=[_lift_from_json(item) for item in data["lifts"]],
        )


def _interval(data: dict[str, float] | None) -> Interval | None:
    return Interval(data["low"], data["high"]) if data else None


def _lift_from_json(data: dict[str, Any]) -> OutcomeLift:
    return OutcomeLift(
        column=data["column"],
        measure=Measure(data["measure"]),
        treated=ArmFigures(**data["treated"]),
        control=ArmFigures(**data["control"]),
        difference=data["difference"],
        difference_ci=_interval(data["difference_ci"]),
        difference_method=IntervalMethod(data["difference_method"]),
        relative=data["relative"],
        relative_ci=_interval(data["relative_ci"]),
        relative_method=IntervalMethod(data["relative_method"]),
        caveats=tuple(LiftCaveat(c) for c in data["caveats"]),
    )


def split_names(text: str | None) -> tuple[str, ...]:
    """`visit,conversion` → ("visit", "conversion"); blanks and repeats dropped."""
    names = [part.strip() for part in (text or "").split(",")]
    return tuple(dict.fromkeys(name for name in names if name))


# --- reading the file ---------------------------------------------------------------------


@dataclass
class _Opened:
    con: duckdb.DuckDBPyConnection
    relation: str
    columns: list[str]
    name: str


@contextmanager
def _open(path: Path, name: str) -> Iterator[_Opened]:
    """The file's rows as a DuckDB table of text columns, read once: the checks and sums
    after it scan memory, not the file again. Converted copies (XLSX, GBK) and anything DuckDB
    spills live in a private temporary folder for as long as the block runs."""
    with tempfile.TemporaryDirectory(prefix="quanwang-experiment-") as work:
        try:
            source = open_source(path=path, work_dir=Path(work))
        except SourceError as exc:
            # An upload is stored under a random name: say the name the user knows.
            raise ExperimentError(str(exc).replace(path.name, name)) from exc
        con = duckdb.connect()
        try:
            con.execute(f"SET temp_directory = {sql_literal(work)}")
            con.execute(f"CREATE TABLE file_rows AS SELECT * FROM {source.relation}")
            opened = _Opened(con, "file_rows", source.columns, name)
            if source.is_csv:
                _check_lines(opened)
            yield opened
        finally:
            con.close()


def _text(column: str) -> str:
    return f"nullif(trim({quote(column)}), '')"


def _number(column: str) -> str:
    """The column as DOUBLE: a number, or true/false as 1/0; NULL when empty or not a number
    (NaN and infinities included)."""
    text = _text(column)
    value = f"coalesce(TRY_CAST({text} AS DOUBLE), TRY_CAST(TRY_CAST({text} AS BOOLEAN) AS DOUBLE))"
    return f"(CASE WHEN isfinite({value}) THEN {value} END)"


def _check_lines(opened: _Opened) -> None:
    """A CSV row DuckDB could not parse would silently leave the experiment: refuse instead."""
    lines = malformed_lines(opened.con)
    if lines:
        line, message = lines[0]
        raise ExperimentError(
            _("%(file)s: %(count)d rows cannot be read, the first at row %(row)d (%(reason)s)")
            % {"file": opened.name, "count": len(lines), "row": line, "reason": message}
        )


def summarise_file(*, path: Path, display_name: str | None = None) -> FileSummary:
    """The file's columns: numeric or not, and the values of those that can name arms."""
    name = display_name or path.name
    with _open(path, name) as opened:
        figures = ", ".join(
            f"count(DISTINCT {_text(c)}), "
            f"count(*) FILTER (WHERE {_text(c)} IS NOT NULL AND {_number(c)} IS NULL)"
            for c in opened.columns
        )
        # An aggregate without GROUP BY always gives one row.
        row = opened.con.sql(f"SELECT count(*), {figures} FROM {opened.relation}").fetchall()[0]
        counts = {
            column: (int(row[1 + 2 * index]), int(row[2 + 2 * index]))
            for index, column in enumerate(opened.columns)
        }
        # The values of the columns that can name arms, in one more scan.
        few = [c for c, (distinct, _bad) in counts.items() if 0 < distinct <= MAX_ARM_VALUES]
        values: dict[str, list[str]] = {}
        if few:
            lists = ", ".join(
                f"list(DISTINCT {t} ORDER BY {t}) FILTER (WHERE {t} IS NOT NULL)"
                for t in map(_text, few)
            )
            found = opened.con.sql(f"SELECT {lists} FROM {opened.relation}").fetchall()[0]
            values = {c: [str(v) for v in listed] for c, listed in zip(few, found, strict=True)}
        columns = [
            ColumnSummary(column, bad == 0 and distinct > 0, distinct, values.get(column, []))
            for column, (distinct, bad) in counts.items()
        ]
        return FileSummary(name=name, rows=int(row[0]), columns=columns)


def _check_design(design: ExperimentDesign, columns: Sequence[str], name: str) -> list[str]:
    """The measured columns, in order; errors for what the file lacks or the design repeats."""
    if not 0 < design.confidence < 1:
        raise ExperimentError(_("The confidence must be between 0 and 1."))
    measured = [*design.outcomes, *design.revenue]
    if not measured:
        raise ExperimentError(_("Name at least one outcome or revenue column."))
    missing = [c for c in dict.fromkeys([design.group, *measured]) if c not in columns]
    if missing:
        raise ExperimentError(
            _("%(file)s has no column %(missing)s; its columns are: %(columns)s")
            % {"file": name, "missing": ", ".join(missing), "columns": ", ".join(columns)}
        )
    twice = sorted({c for c in measured if measured.count(c) > 1})
    if twice:
        raise ExperimentError(
            _("%(file)s: column %(columns)s is named twice among the outcomes and revenue")
            % {"file": name, "columns": ", ".join(twice)}
        )
    if design.group in measured:
        raise ExperimentError(
            _("%(file)s: column %(column)s names the arms; it cannot be an outcome too")
            % {"file": name, "column": design.group}
        )
    if design.treated.strip() == design.control.strip():
        raise ExperimentError(_("The treated and control arms must be two different values."))
    return measured


def _arm_counts(opened: _Opened, design: ExperimentDesign) -> dict[str | None, int]:
    rows = opened.con.sql(
        f"SELECT {_text(design.group)} AS arm, count(*) FROM {opened.relation} GROUP BY 1"
    ).fetchall()
    counts = {None if arm is None else str(arm): int(n) for arm, n in rows}
    for value in (design.treated.strip(), design.control.strip()):
        if value not in counts:
            known = sorted(str(k) for k in counts if k is not None)
            shown = ", ".join(known[:SHOWN_VALUES]) + (" …" if len(known) > SHOWN_VALUES else "")
            raise ExperimentError(
                _(
                    "%(file)s: column %(column)s has no value “%(value)s”; "
                    "its values are: %(values)s"
                )
                % {"file": opened.name, "column": design.group, "value": value, "values": shown}
            )
    return counts


def _check_values(
    opened: _Opened, design: ExperimentDesign, measured: list[str], compared: str
) -> None:
    """Every value of a measured column is a number, and of a yes/no outcome 0 or 1."""
    checks = []
    for column in measured:
        text, number = _text(column), _number(column)
        checks.append(f"count(*) FILTER (WHERE {text} IS NOT NULL AND {number} IS NULL)")
        checks.append(f"min({text}) FILTER (WHERE {text} IS NOT NULL AND {number} IS NULL)")
        binary = column in design.outcomes
        checks.append(f"count(*) FILTER (WHERE {number} NOT IN (0, 1))" if binary else "0")
        checks.append(f"min({text}) FILTER (WHERE {number} NOT IN (0, 1))" if binary else "NULL")
    # An aggregate without GROUP BY always gives one row.
    row = opened.con.sql(
        f"SELECT {', '.join(checks)} FROM {opened.relation} WHERE {compared}"
    ).fetchall()[0]
    for index, column in enumerate(measured):
        bad, example, not_binary, odd = row[4 * index : 4 * index + 4]
        if bad:
            raise ExperimentError(
                _(
                    "%(file)s, column %(column)s: %(count)d values are not numbers, e.g. "
                    "“%(value)s”; an outcome is 0/1 and an amount a number"
                )
                % {"file": opened.name, "column": column, "count": bad, "value": example}
            )
        if not_binary:
            raise ExperimentError(
                _(
                    "%(file)s, column %(column)s: %(count)d values are neither 0 nor 1, e.g. "
                    "“%(value)s”; a yes/no outcome is 0/1, name an amount as revenue instead"
                )
                % {"file": opened.name, "column": column, "count": not_binary, "value": odd}
            )


def evaluate_file(
    *, path: Path, design: ExperimentDesign, display_name: str | None = None
) -> ExperimentResult:
    """The lift of each outcome (by rate) and amount (by mean) of the treated arm over the
    control arm, with intervals at `design.confidence`."""
    name = display_name or path.name
    with _open(path, name) as opened:
        measured = _check_design(design, opened.columns, name)
        counts = _arm_counts(opened, design)
        treated, control = design.treated.strip(), design.control.strip()
        arms = f"{sql_literal(treated)}, {sql_literal(control)}"
        compared = f"{_text(design.group)} IN ({arms})"
        _check_values(opened, design, measured, compared)
        selected = ", ".join(
            [f"{_text(design.group)} = {sql_literal(treated)} AS __treated"]
            + [f"{_number(c)} AS {quote(c)}" for c in measured]
        )
        table = opened.con.sql(
            f"SELECT {selected} FROM {opened.relation} WHERE {compared}"
        ).to_arrow_table()
    is_treated = np.asarray(table.column("__treated").to_numpy(zero_copy_only=False), dtype=bool)
    lifts = []
    for column in measured:
        values = np.asarray(table.column(column).to_numpy(zero_copy_only=False), np.float64)
        present = ~np.isnan(values)
        compare = rate_lift if column in design.outcomes else mean_lift
        lifts.append(
            compare(
                column=column,
                treated=values[is_treated & present],
                control=values[~is_treated & present],
                confidence=design.confidence,
                missing=(int((is_treated & ~present).sum()), int((~is_treated & ~present).sum())),
            )
        )
    rows = sum(counts.values())
    return ExperimentResult(
        file=name,
        design=design,
        rows=rows,
        treated_rows=counts[treated],
        control_rows=counts[control],
        other_rows=rows - counts[treated] - counts[control],
        lifts=lifts,
    )
