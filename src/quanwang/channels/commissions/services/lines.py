"""Reading a statement's lines from its Parquet file, and saying how each was computed.

A partner's view of a line (what a channel partner may see of its own statement) leaves out
the line's subscriber: the sale, the rule and the computation are the partner's to check, the
customer behind them is not.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
from django.utils.translation import gettext as _

from quanwang.channels.commissions.choices import NOTE_KINDS, LineKind
from quanwang.channels.commissions.services.runs import lines_file
from quanwang.channels.models import CommissionStatement
from quanwang.core import formatting

#: Columns a partner's view leaves out.
PARTNER_HIDDEN = frozenset({"subscriber_id"})
NOTE_VALUES = tuple(k.value for k in NOTE_KINDS)


def _query(
    statement: CommissionStatement, *, where: str, params: list[Any], tail: str = ""
) -> list[dict[str, Any]]:
    path = lines_file(statement.lines_path)
    if not path.exists():
        return []
    con = duckdb.connect()
    try:
        cursor = con.execute(
            "SELECT * FROM read_parquet(?) WHERE store_id = ? AND month = ? AND "
            f"{where} ORDER BY line_no {tail}",
            [str(path), statement.store.store_id, statement.month, *params],
        )
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def statement_lines(
    statement: CommissionStatement,
    *,
    notes: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The statement's money lines (or, with `notes`, its facts without commission), in
    order; a page of them with `offset` and `limit`."""
    placeholders = ", ".join("?" for _k in NOTE_VALUES)
    where = f"kind {'IN' if notes else 'NOT IN'} ({placeholders})"
    tail = f"LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    return _query(statement, where=where, params=list(NOTE_VALUES), tail=tail)


def statement_line(statement: CommissionStatement, line_no: int) -> dict[str, Any] | None:
    found = _query(statement, where="line_no = ?", params=[line_no])
    return found[0] if found else None


def partner_view(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k not in PARTNER_HIDDEN}


def _money(value: Any) -> str:
    number = formatting.as_decimal(value)
    return formatting.MISSING if number is None else formatting.grouped(number, 2)


def _share(value: Any) -> str:
    number = formatting.as_decimal(value)
    if number is None:
        return formatting.MISSING
    return f"{(number * 100).normalize():f}%"


def kind_label(kind: str) -> str:
    return str(LineKind(kind).label) if kind in LineKind.values else kind


def computation(line: dict[str, Any]) -> str:
    """How the line's amount follows from its facts and rule, in words and figures."""
    kind = line["kind"]
    due = line["due_amount"]
    if kind in NOTE_VALUES:
        return kind_label(kind)
    if kind == LineKind.UPFRONT:
        text = _("%(fixed)s a sale × %(share)s on activation = %(due)s") % {
            "fixed": _money(line["fixed_amount"]),
            "share": _share(line["upfront_share"]),
            "due": _money(due),
        }
    elif kind == LineKind.DEFERRED:
        text = _(
            "%(fixed)s a sale × %(share)s deferred = %(due)s; the line was still active "
            "%(months)s months after the sale"
        ) % {
            "fixed": _money(line["fixed_amount"]),
            "share": _share(Decimal(1) - (line["upfront_share"] or 0)),
            "due": _money(due),
            "months": line["deferred_months"],
        }
    elif kind == LineKind.REVENUE_SHARE:
        text = _("%(share)s × revenue %(arpu)s of %(month)s = %(due)s") % {
            "share": _share(line["revenue_share"]),
            "arpu": _money(line["arpu"]),
            "month": line["due_month"],
            "due": _money(due),
        }
    elif kind == LineKind.CLAWBACK:
        text = _(
            "The line churned on %(day)s, within %(months)s months of the sale: the fixed "
            "parts paid (%(due)s) are taken back"
        ) % {"day": line["churn_date"], "months": line["clawback_months"], "due": _money(due)}
    else:
        text = _(
            "%(kind)s %(id)s on %(day)s voids the sale: what it earned (%(due)s) is taken back"
        ) % {
            "kind": line["cancel_kind"] or _("Refund or reversal"),
            "id": line["cancel_id"] or formatting.MISSING,
            "day": line["cancel_date"] or formatting.MISSING,
            "due": _money(due),
        }
    if line.get("tier_from"):
        text += _(" (tier from %(from)s sales; the store's volume: %(volume)s)") % {
            "from": line["tier_from"],
            "volume": line["volume"],
        }
    if line.get("rule_id") is None:
        text = _("No rule covers the sale any more: nothing is due")
    if line["paid_before"]:
        text += _("; already paid %(paid)s, so this line pays %(amount)s") % {
            "paid": _money(line["paid_before"]),
            "amount": _money(line["amount"]),
        }
    return text
