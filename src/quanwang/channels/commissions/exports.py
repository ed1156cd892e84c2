"""A statement as XLSX (through core.tabular, the one writer) and as PDF (WeasyPrint, with the
Chinese font embedded as campaigns.report does).

Both say only what follows from the facts and the statement's state, never when or by whom it
was computed: a re-run with the same facts gives the same bytes. The XLSX is made
byte-reproducible by fixing what openpyxl stamps with the clock (the document's created and
modified times, the zip entries' dates).

The partner's view (what a channel partner may see of its own statement) leaves out the
lines' subscribers and the names of the staff who approved it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from openpyxl.styles import Font  # type: ignore[import-untyped]

from quanwang.channels.choices import StoreType
from quanwang.channels.commissions.services import lines as line_services
from quanwang.channels.models import CommissionStatement
from quanwang.core import formatting
from quanwang.core.pdf import font_face_css, html_to_pdf
from quanwang.core.tabular import (
    append_row,
    new_workbook,
    reproducible_xlsx,
    workbook_bytes,
)

MONEY = "#,##0.00"


def _columns(*, partner: bool) -> list[tuple[str, str]]:
    """(line key, heading) of the lines sheet, in order."""
    columns = [
        ("line_no", _("Line")),
        ("kind", _("What")),
        ("due_month", _("For month")),
        ("adjustment", _("Adjustment")),
        ("sale_id", _("Sale ID")),
        ("sale_date", _("Sale date")),
        ("product", _("Product")),
        ("plan_id", _("Plan ID")),
        ("subscriber_id", _("Subscriber ID")),
        ("rule_set", _("Rule set")),
        ("rule_version", _("Version")),
        ("volume", _("Store's volume")),
        ("tier_from", _("Tier from")),
        ("arpu", _("Revenue (yuan)")),
        ("churn_date", _("Churn date")),
        ("cancel_id", _("Refund or reversal")),
        ("cancel_date", _("Its date")),
        ("due_amount", _("Due (yuan)")),
        ("paid_before", _("Paid before (yuan)")),
        ("amount", _("Amount (yuan)")),
        ("computation", _("Computation")),
    ]
    hidden = line_services.PARTNER_HIDDEN if partner else frozenset()
    return [(key, heading) for key, heading in columns if key not in hidden]


def _cell(line: dict[str, Any], key: str) -> Any:
    if key == "kind":
        return line_services.kind_label(line["kind"])
    if key == "adjustment":
        return _("Yes") if line["adjustment"] else ""
    if key == "computation":
        return line_services.computation(line)
    if key in ("due_amount", "paid_before", "amount", "arpu"):
        value = line.get(key)
        return float(value) if value is not None else None
    value = line.get(key)
    return "" if value is None else value


def summary_rows(statement: CommissionStatement, *, partner: bool) -> list[tuple[str, Any]]:
    store = statement.store
    rows: list[tuple[str, Any]] = [
        (_("Store ID"), store.store_id),
        (_("Store"), store.name),
        (_("Store type"), str(StoreType(store.store_type).label)),
        (_("Org unit"), store.org_unit.name),
        (_("Month"), statement.month),
        (_("Status"), statement.get_status_display()),
        (_("Total (yuan)"), float(statement.total)),
        (_("Of which adjustments (yuan)"), float(statement.adjustment_total)),
        (_("Of which deductions (yuan)"), float(statement.deduction_total)),
        (_("Lines"), statement.line_count),
        (_("Facts without commission"), statement.note_count),
        (
            _("Approved on"),
            statement.approved_at.date().isoformat() if statement.approved_at else "",
        ),
    ]
    if not partner:
        approver = statement.approved_by.get_username() if statement.approved_by else ""
        rows.append((_("Approved by"), approver))
    rows.append((_("Fingerprint (SHA-256 of the lines)"), statement.fingerprint))
    return rows


def _sheet(book: Any, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    sheet = book.create_sheet(title)
    append_row(sheet, header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, row)
    money_columns = [i for i, h in enumerate(header, start=1) if "(" in h]
    for column in money_columns:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = MONEY


def statement_xlsx(statement: CommissionStatement, *, partner: bool = False) -> bytes:
    """The statement as XLSX: its summary, its lines and its facts without commission."""
    book = new_workbook()
    summary = book.active
    summary.title = _("Statement")
    append_row(summary, [_("Commission statement"), ""])
    summary["A1"].font = Font(bold=True, size=14)
    for label, value in summary_rows(statement, partner=partner):
        append_row(summary, [label, value])
    columns = _columns(partner=partner)
    header = [heading for _key, heading in columns]
    money = line_services.statement_lines(statement)
    notes = line_services.statement_lines(statement, notes=True)
    if partner:
        money = [line_services.partner_view(line) for line in money]
        notes = [line_services.partner_view(line) for line in notes]
    _sheet(book, _("Lines"), header, [[_cell(line, k) for k, _h in columns] for line in money])
    _sheet(
        book,
        _("Facts without commission"),
        header,
        [[_cell(line, k) for k, _h in columns] for line in notes],
    )
    return reproducible_xlsx(workbook_bytes(book))


def statement_html(statement: CommissionStatement, *, partner: bool = False) -> str:
    columns = [
        (key, heading)
        for key, heading in _columns(partner=True)
        if key not in ("plan_id", "rule_version", "volume", "tier_from", "arpu", "churn_date")
    ]
    money = [line_services.partner_view(line) for line in line_services.statement_lines(statement)]
    notes = [
        line_services.partner_view(line)
        for line in line_services.statement_lines(statement, notes=True)
    ]

    def shown(line: dict[str, Any], key: str) -> str:
        value = _cell(line, key)
        if key in ("due_amount", "paid_before", "amount", "arpu"):
            return (
                formatting.grouped(formatting.as_decimal(value) or Decimal(0), 2)
                if value is not None
                else ""
            )
        if key == "rule_set" and line.get("rule_version"):
            return f"{value} v{line['rule_version']}"
        return str(value)

    return render_to_string(
        "core/statement_pdf.html",
        {
            "font_css": font_face_css(),
            "title": _("Commission statement"),
            "summary": [
                (label, formatting.grouped(formatting.as_decimal(value) or Decimal(0), 2)
                 if isinstance(value, float) else value)
                for label, value in summary_rows(statement, partner=partner)
            ],
            "headers": [heading for _key, heading in columns],
            "lines": [[shown(line, key) for key, _h in columns] for line in money],
            "notes_title": _("Facts without commission"),
            "notes": [[shown(line, key) for key, _h in columns] for line in notes],
            "lines_title": _("Lines"),
        },
    )  # fmt: skip


def statement_pdf(statement: CommissionStatement, *, partner: bool = False) -> bytes:
    """The statement as a PDF with its Chinese font embedded."""
    return html_to_pdf(statement_html(statement, partner=partner))


def export_name(statement: CommissionStatement, suffix: str) -> str:
    return f"commission-{statement.store.store_id}-{statement.month}.{suffix}"
