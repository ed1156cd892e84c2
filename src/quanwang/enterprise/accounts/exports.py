"""The account list as an XLSX workbook (core.tabular)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from quanwang.core.tabular import append_row, new_workbook, workbook_bytes


def account_workbook(accounts: Any) -> bytes:
    book = new_workbook(write_only=True)
    sheet = book.create_sheet(_("Accounts"))
    append_row(
        sheet,
        [
            _("Enterprise ID"),
            _("Name"),
            _("Grade"),
            _("Industry"),
            _("Employees"),
            _("Status"),
            _("Ownership"),
            _("Account manager"),
            _("Org unit"),
            _("Grid ID"),
            _("Parent account"),
            _("Members"),
            _("Still listed"),
        ],
    )
    rows = accounts.select_related("org_unit", "account_manager", "parent")
    for account in rows.iterator(chunk_size=2000):
        append_row(
            sheet,
            [
                account.enterprise_id,
                account.name,
                account.get_grade_display() if account.grade else "",
                account.industry,
                account.size,
                account.get_status_display(),
                account.get_ownership_display(),
                account.account_manager.name if account.account_manager else "",
                account.org_unit.name,
                account.grid_id,
                account.parent.enterprise_id if account.parent else "",
                account.member_count,
                _("Yes") if account.active else _("No"),
            ],
        )
    return workbook_bytes(book)
