"""A statement as XLSX (core.tabular, the one writer) and as PDF (WeasyPrint with the Chinese
font embedded, as campaigns.report and the commission statements do). Both say only what
follows from the facts and the statement's state, so a re-run on the same facts exports the
same content."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from openpyxl.styles import Font  # type: ignore[import-untyped]

from quanwang.core import formatting
from quanwang.core.pdf import font_face_css, html_to_pdf
from quanwang.core.tabular import append_row, new_workbook, reproducible_xlsx, workbook_bytes
from quanwang.performance.incentives import presenting
from quanwang.performance.models import IncentiveStatement

MONEY = "#,##0.00"


def _headers() -> list[str]:
    return [
        _("Line"), _("What"), _("For month"), _("KPI"), _("Of"), _("Period"), _("Figure"),
        _("Rate"), _("Amount (yuan)"), _("Computation"),
    ]  # fmt: skip


def _rows(statement: IncentiveStatement) -> list[list[Any]]:
    rows = []
    for line in statement.lines.order_by("line_no"):
        rows.append(
            [
                line.line_no, line.get_kind_display(), line.for_month,
                presenting.kpi_name(line.kpi), line.key, line.period,
                float(line.quantity) if line.quantity is not None else None,
                float(line.rate) if line.rate is not None else None,
                float(line.amount), presenting.computation(line),
            ]
        )  # fmt: skip
    return rows


def statement_xlsx(statement: IncentiveStatement) -> bytes:
    book = new_workbook()
    summary = book.active
    summary.title = _("Statement")
    append_row(summary, [_("Incentive statement"), ""])
    summary["A1"].font = Font(bold=True, size=14)
    for label, value in presenting.summary_rows(statement):
        append_row(summary, [label, float(value) if isinstance(value, Decimal) else value])
    sheet = book.create_sheet(_("Lines"))
    append_row(sheet, _headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in _rows(statement):
        append_row(sheet, row)
    for (cell,) in sheet.iter_rows(min_row=2, min_col=9, max_col=9):
        cell.number_format = MONEY
    return reproducible_xlsx(workbook_bytes(book))


def statement_html(statement: IncentiveStatement) -> str:
    def text(value: Any) -> str:
        if isinstance(value, Decimal):
            return formatting.grouped(value, 2)
        if isinstance(value, float):
            return formatting.grouped(Decimal(repr(value)), 2)
        return "" if value is None else str(value)

    return render_to_string(
        "core/statement_pdf.html",
        {
            "font_css": font_face_css(),
            "title": _("Incentive statement"),
            "summary": [(label, text(v)) for label, v in presenting.summary_rows(statement)],
            "lines_title": _("Lines"),
            "headers": _headers(),
            "lines": [[text(cell) for cell in row] for row in _rows(statement)],
        },
    )


def statement_pdf(statement: IncentiveStatement) -> bytes:
    return html_to_pdf(statement_html(statement))


def export_name(statement: IncentiveStatement, suffix: str) -> str:
    return f"incentive-{statement.staff.employee_no}-{statement.month}.{suffix}"
