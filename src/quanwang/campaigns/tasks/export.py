"""A grid's or an account manager's task list as a workbook to work from."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.tasks.listing import TaskFilters, all_rows
from quanwang.core.errors import ServiceError
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes


def export_xlsx(*, user: Any, filters: TaskFilters) -> bytes:
    """The filtered task list of one grid, one store or one account manager, in the list's
    order (highest priority first), numbers masked."""
    if not filters.grid and not filters.account_manager and not filters.store:
        raise ServiceError(
            _("Choose a grid, a store or an account manager to download their task list."),
            field="grid",
        )
    rows = all_rows(user=user, filters=filters)
    book = new_workbook(write_only=True)
    sheet = book.create_sheet(title=_("Task list")[:31])
    header = [
        _("Priority"), _("Campaign"), _("Step"), _("Subscriber ID"), _("Number"), _("Name"),
        _("Grid"), _("Store"), _("Store ID"), _("Account manager"), _("Value tier"),
        _("Churn risk"), _("Churn reasons"), _("Deadline"), _("Outcome"), _("Note"),
        _("Attempts"), _("Recorded at"), _("Script"),
    ]  # fmt: skip
    append_row(sheet, header)
    for position, row in enumerate(rows, start=1):
        recorded = timezone.localtime(row.recorded_at) if row.recorded_at else None
        append_row(
            sheet,
            [
                position,
                row.campaign,
                row.step,
                row.subscriber_id,
                row.msisdn,
                row.name,
                row.grid,
                row.store if row.store_id else "",
                row.store_id or "",
                row.account_manager_name,
                row.tier,
                None if row.churn_risk is None else round(row.churn_risk, 4),
                row.churn_reasons or "",
                row.deadline,
                str(row.state.label),
                row.note,
                row.attempts,
                recorded.replace(tzinfo=None) if recorded else None,
                row.script,
            ],
        )
    return workbook_bytes(book)
