"""An experiment's lifts as text (the command, the page) and as a CSV or XLSX report.

Files go through `core.tabular` (formula-safe cells, 0600, written whole). The report is one
row per outcome: both arms' rows and rate or mean, the absolute lift and its interval, the
relative lift and its interval, whether the interval excludes 0, the methods and caveats; the
XLSX adds a sheet that says what was compared.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.evaluation import Interval
from quanwang.campaigns.experiment_stats import Measure, OutcomeLift
from quanwang.campaigns.experiments import ExperimentResult
from quanwang.core.tabular import (
    append_row,
    csv_text,
    new_workbook,
    save_workbook,
    workbook_bytes,
    write_csv,
)

PERCENT = "0.00%"
AMOUNT = "#,##0.00"
COUNT = "#,##0"


class ReportKind(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class ReportColumn(models.TextChoices):
    TREATED_ARM = "treated_arm", gettext_lazy("Treated arm")
    CONTROL_ARM = "control_arm", gettext_lazy("Control arm")
    OUTCOME = "outcome", gettext_lazy("Outcome")
    MEASURE = "measure", gettext_lazy("Measure")
    TREATED_ROWS = "treated_rows", gettext_lazy("Treated rows")
    CONTROL_ROWS = "control_rows", gettext_lazy("Control rows")
    TREATED_VALUE = "treated_value", gettext_lazy("Treated rate or mean")
    CONTROL_VALUE = "control_value", gettext_lazy("Control rate or mean")
    LIFT = "lift", gettext_lazy("Lift (treated − control)")
    LIFT_LOW = "lift_low", gettext_lazy("Lift: interval low")
    LIFT_HIGH = "lift_high", gettext_lazy("Lift: interval high")
    RELATIVE = "relative", gettext_lazy("Relative lift")
    RELATIVE_LOW = "relative_low", gettext_lazy("Relative lift: interval low")
    RELATIVE_HIGH = "relative_high", gettext_lazy("Relative lift: interval high")
    SIGNIFICANT = "significant", gettext_lazy("Interval excludes 0")
    LIFT_METHOD = "lift_method", gettext_lazy("Lift interval")
    RELATIVE_METHOD = "relative_method", gettext_lazy("Relative lift interval")
    CAVEATS = "caveats", gettext_lazy("Caveats")


def _ends(interval: Interval | None) -> list[float | None]:
    return [interval.low, interval.high] if interval else [None, None]


def _yes_no(value: bool | None) -> str:
    return "" if value is None else (_("yes") if value else _("no"))


def report_rows(result: ExperimentResult) -> list[list[Any]]:
    """One row per outcome, in `ReportColumn` order; figures as numbers (rates as fractions)."""
    design = result.design
    return [
        [
            design.treated,
            design.control,
            lift.column,
            str(lift.measure.label),
            lift.treated.rows,
            lift.control.rows,
            lift.treated.value,
            lift.control.value,
            lift.difference,
            *_ends(lift.difference_ci),
            lift.relative,
            *_ends(lift.relative_ci),
            _yes_no(lift.significant),
            str(lift.difference_method.label),
            str(lift.relative_method.label),
            "; ".join(str(c.label) for c in lift.caveats),
        ]
        for lift in result.lifts
    ]


def _formats(lift: OutcomeLift) -> dict[ReportColumn, str]:
    value = PERCENT if lift.measure == Measure.RATE else AMOUNT
    return {
        ReportColumn.TREATED_ROWS: COUNT,
        ReportColumn.CONTROL_ROWS: COUNT,
        ReportColumn.TREATED_VALUE: value,
        ReportColumn.CONTROL_VALUE: value,
        ReportColumn.LIFT: value,
        ReportColumn.LIFT_LOW: value,
        ReportColumn.LIFT_HIGH: value,
        ReportColumn.RELATIVE: PERCENT,
        ReportColumn.RELATIVE_LOW: PERCENT,
        ReportColumn.RELATIVE_HIGH: PERCENT,
    }


def about_rows(result: ExperimentResult) -> list[list[Any]]:
    """What was compared, for the XLSX's second sheet and the page."""
    design = result.design
    return [
        [_("File"), result.file],
        [_("Arm column"), design.group],
        [_("Treated arm"), design.treated],
        [_("Control arm"), design.control],
        [_("Rows in the file"), result.rows],
        [_("Treated rows"), result.treated_rows],
        [_("Control rows"), result.control_rows],
        [_("Rows of other arms or without an arm (left out)"), result.other_rows],
        [_("Confidence"), f"{design.confidence:.0%}"],
        [
            _("Intervals"),
            _(
                "Yes/no outcomes: Newcombe's hybrid score interval of the difference of rates and "
                "the Katz log interval of their ratio. Amounts: Welch's t interval of the "
                "difference of means and Fieller's interval of their ratio."
            ),
        ],
    ]


def _workbook(result: ExperimentResult) -> Any:
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = new_workbook()
    sheet = book.active
    sheet.title = _("Lifts")
    append_row(sheet, [str(column.label) for column in ReportColumn])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    columns = list(ReportColumn)
    for lift, row in zip(result.lifts, report_rows(result), strict=True):
        append_row(sheet, row)
        for column, number_format in _formats(lift).items():
            sheet.cell(sheet.max_row, columns.index(column) + 1).number_format = number_format
    sheet.freeze_panes = "D2"
    about = book.create_sheet(_("About"))
    for row in about_rows(result):
        append_row(about, row)
    about.column_dimensions["A"].width = 40
    return book


def report_bytes(result: ExperimentResult, kind: ReportKind) -> bytes:
    """The report as a download: CSV (UTF-8 with BOM, for Excel) or XLSX."""
    if kind == ReportKind.XLSX:
        return workbook_bytes(_workbook(result))
    header = [str(column.label) for column in ReportColumn]
    return csv_text(header=header, rows=report_rows(result)).encode("utf-8-sig")


def default_report_path(path: Path) -> Path:
    """Where the command writes the report without --out: beside the file."""
    return path.with_name(f"{path.stem}-lifts.xlsx")


def write_report(result: ExperimentResult, path: Path) -> Path:
    """The report as a 0600 file; CSV when `path` ends in .csv, else XLSX."""
    if path.suffix.lower() == ".csv":
        header = [str(column.label) for column in ReportColumn]
        write_csv(path, header=header, rows=report_rows(result))
    else:
        save_workbook(_workbook(result), path)
    return path


# --- as text ------------------------------------------------------------------------------


def _value(value: float | None, measure: Measure) -> str:
    if value is None:
        return "—"
    return f"{value:.2%}" if measure == Measure.RATE else f"{value:,.2f}"


def _signed(value: float | None, measure: Measure) -> str:
    """A lift: percentage points for a rate, the amount's unit for a mean."""
    if value is None:
        return "—"
    if measure == Measure.RATE:
        return _("%(value)s pt") % {"value": f"{100 * value:+.2f}"}
    return f"{value:+,.2f}"


def _range(interval: Interval | None, show: Any) -> str:
    return f"[{show(interval.low)}, {show(interval.high)}]" if interval else "—"


def display_rows(result: ExperimentResult) -> list[dict[str, Any]]:
    """Each outcome's figures as the command and the page show them."""
    shown = []
    for lift in result.lifts:
        measure = lift.measure

        def signed(value: float | None, measure: Measure = measure) -> str:
            return _signed(value, measure)

        def percent(value: float | None) -> str:
            return "—" if value is None else f"{value:+.1%}"

        shown.append(
            {
                "outcome": lift.column,
                "measure": str(measure.label),
                "treated": _value(lift.treated.value, measure),
                "control": _value(lift.control.value, measure),
                "treated_rows": lift.treated.rows,
                "control_rows": lift.control.rows,
                "lift": signed(lift.difference),
                "lift_ci": _range(lift.difference_ci, signed),
                "relative": percent(lift.relative),
                "relative_ci": _range(lift.relative_ci, percent),
                "significant": lift.significant,
                "method": f"{lift.difference_method.label}; {lift.relative_method.label}",
                "caveats": [str(c.label) for c in lift.caveats],
            }
        )
    return shown


def text_table(result: ExperimentResult, *, width: int = 120) -> str:
    """The lifts as a terminal table (rich measures the width of Chinese text)."""
    from rich.console import Console
    from rich.table import Table

    confidence = f"{result.design.confidence:.0%}"
    table = Table(
        title=_("%(treated)s against %(control)s (column %(column)s), %(confidence)s intervals")
        % {
            "treated": result.design.treated,
            "control": result.design.control,
            "column": result.design.group,
            "confidence": confidence,
        }
    )
    for heading in (
        _("Outcome"),
        _("Treated"),
        _("Control"),
        _("Lift"),
        _("Interval"),
        _("Relative lift"),
        _("Interval"),
    ):
        table.add_column(heading)
    for row in display_rows(result):
        table.add_row(
            row["outcome"],
            row["treated"],
            row["control"],
            row["lift"],
            row["lift_ci"],
            row["relative"],
            row["relative_ci"],
        )
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(table)
    lines = [buffer.getvalue().rstrip()]
    lines.append(
        _(
            "%(treated)d treated rows, %(control)d control rows; "
            "%(other)d rows of other arms left out."
        )
        % {
            "treated": result.treated_rows,
            "control": result.control_rows,
            "other": result.other_rows,
        }
    )
    for row in display_rows(result):
        for caveat in row["caveats"]:
            lines.append(f"{row['outcome']}: {caveat}")
    return "\n".join(lines)
