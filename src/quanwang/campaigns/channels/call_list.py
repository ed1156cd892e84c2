"""Outbound call lists for a 10085-style call centre: one XLSX per campaign step and batch.

The call centre dials the numbers, so the list carries them in full; the file is written to
the configured folder (which only the dispatch job and the call-centre transfer can read).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from quanwang.campaigns.channels.base import (
    OutboundMessage,
    SendError,
    SendResult,
    batch_key,
    in_order,
    normalise_msisdn,
    unique,
)
from quanwang.campaigns.choices import Channel
from quanwang.core.tabular import append_row, new_workbook, save_workbook

SHEET_TITLE = "外呼名单"
#: (field, header, column width). The headers are the call centre's import format, in
#: Chinese whatever the console's language, so they are not translated.
COLUMNS = (
    ("subscriber_id", "用户编号", 16),
    ("msisdn", "手机号码", 14),
    ("name", "客户姓名", 12),
    ("script", "外呼话术", 60),
    ("offer", "推荐产品", 30),
)
_UNSAFE = re.compile(r"[^0-9A-Za-z_.-]+")


@dataclass(frozen=True, kw_only=True, slots=True)
class CallListConfig:
    output_dir: str
    file_prefix: str = "call-list"


class CallListAdapter:
    """Sending is writing the row: one result per message, accepted with the file and row
    as its id, or failed when the number cannot be dialled. The file name is fixed by the
    campaign step and the batch's keys, so a retried batch replaces its own file instead
    of adding a second list with the same customers."""

    channel: ClassVar[Channel] = Channel.OUTBOUND_CALL

    def __init__(self, *, config: CallListConfig) -> None:
        self.config = config
        self.output_dir = Path(config.output_dir)

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        results: dict[str, SendResult] = {}
        by_step: dict[str, list[tuple[OutboundMessage, str]]] = {}
        for message in unique(messages):
            number = normalise_msisdn(message.recipient)
            if number is None:
                results[message.idempotency_key] = SendResult.failed(
                    message=message,
                    error=SendError.INVALID_RECIPIENT,
                    detail=f"not a mobile number: {message.recipient!r}",
                )
            else:
                by_step.setdefault(message.campaign_step, []).append((message, number))
        for step, rows in by_step.items():
            results.update(self._write(step=step, rows=rows))
        return in_order(messages=messages, results=results)

    def close(self) -> None:
        """Nothing is held open between sends."""

    def path_for(self, *, step: str, messages: Sequence[OutboundMessage]) -> Path:
        digest = batch_key(messages)[:12]
        safe_step = _UNSAFE.sub("_", step).strip("_") or "step"
        return self.output_dir / f"{self.config.file_prefix}_{safe_step}_{digest}.xlsx"

    def _write(
        self, *, step: str, rows: list[tuple[OutboundMessage, str]]
    ) -> dict[str, SendResult]:
        path = self.path_for(step=step, messages=[message for message, _ in rows])
        results: dict[str, SendResult] = {}
        for row_number, (message, _) in enumerate(rows, start=2):
            results[message.idempotency_key] = SendResult.ok(
                message=message, gateway_message_id=f"{path.name}#{row_number}"
            )
        book = call_list_book(
            (message.subscriber_id, number, message.name, message.text, message.offer)
            for message, number in rows
        )
        # Written beside the target and renamed (0600): a worker killed mid-write leaves no
        # half file for the call centre to pick up.
        save_workbook(book, path)
        return results


def call_list_book(rows: Iterable[Sequence[str]]) -> Any:
    """A call list workbook: the sheet 外呼名单 with its header, then one row per customer
    (subscriber_id, msisdn, name, script, offer), as the call centre imports it. The
    dispatch's own lists and the console's download (campaigns.promotion) are both this."""
    book = new_workbook(write_only=True)
    sheet = book.create_sheet(title=SHEET_TITLE)
    for index, (_, _, width) in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    # Every cell is text (a number must not lose its leading digits either), and a script
    # or name starting like a formula is quoted by the shared writer.
    append_row(sheet, [header for _, header, _ in COLUMNS])
    for values in rows:
        append_row(sheet, [str(value) for value in values])
    return book
