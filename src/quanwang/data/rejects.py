"""Why a row was set aside, in the quarantine file's words, and the quarantine file itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import duckdb
from django.utils.translation import gettext_lazy

from quanwang.core.tabular import write_csv
from quanwang.data.import_scope import out_of_scope_values
from quanwang.data.schema import Column, ColumnType, Table
from quanwang.data.warehouse import quote

INT64_MAX = 2**63 - 1
TYPE_NAMES = {
    ColumnType.STRING: ("文本", "text"),
    ColumnType.INT: ("整数", "a whole number"),
    ColumnType.FLOAT: ("数值", "a number"),
    ColumnType.MONEY: ("金额", "an amount"),
    ColumnType.DATE: ("日期", "a date (2024-01-05, 2024/1/5, 20240105 or an Excel serial)"),
    ColumnType.BOOL: ("是/否", "yes/no"),
}


class RowPlaces(Protocol):
    """Where the scanned rows lie in the file (`scan.Scan`)."""

    malformed: list[tuple[int, str]]

    def row_of(self) -> Callable[[int], int]: ...


class Reject(StrEnum):
    """Why a value or row was set aside; the code in the quarantine file's reason_code."""

    REQUIRED = "required"
    TYPE = "type"
    NOT_FINITE = "not_finite"
    TOO_LARGE = "too_large"
    CHOICE = "choice"
    RANGE = "range"
    FUTURE = "future"
    DUPLICATE = "duplicate"
    REFERENCE = "reference"
    ENCODING = "encoding"
    MALFORMED = "malformed"
    SCOPE = "scope"


REJECT_LABELS = {
    Reject.REQUIRED: gettext_lazy("Required value missing"),
    Reject.TYPE: gettext_lazy("Wrong type"),
    Reject.NOT_FINITE: gettext_lazy("Not a finite number"),
    Reject.TOO_LARGE: gettext_lazy("Number too large"),
    Reject.CHOICE: gettext_lazy("Not an allowed value"),
    Reject.RANGE: gettext_lazy("Out of range"),
    Reject.FUTURE: gettext_lazy("Date in the future"),
    Reject.DUPLICATE: gettext_lazy("Duplicate key"),
    Reject.REFERENCE: gettext_lazy("Refers to a missing record"),
    Reject.ENCODING: gettext_lazy("Wrong text encoding"),
    Reject.MALFORMED: gettext_lazy("Malformed row"),
    Reject.SCOPE: gettext_lazy("Outside your scope"),
}


def reason_text(code: Reject, column: Column | None, detail: str = "") -> tuple[str, str]:
    """The reason for a rejected value, in Chinese and English."""
    if code is Reject.REQUIRED:
        return "必填字段为空", "required value is empty"
    if code is Reject.TYPE and column is not None:
        zh, en = TYPE_NAMES[column.type]
        return f"不是有效的{zh}", f"not {en}"
    if code is Reject.NOT_FINITE:
        return "不是有限的数值（NaN 或无穷大）", "not a finite number (NaN or infinity)"
    if code is Reject.TOO_LARGE:
        return (
            f"数值过大，整数须在 ±{INT64_MAX} 之内",
            f"too large: a whole number must lie within ±{INT64_MAX}",
        )
    if code is Reject.CHOICE and column is not None:
        allowed = "/".join(column.choices)
        return f"不在允许值内（{allowed}）", f"not one of {allowed}"
    if code is Reject.RANGE and column is not None:
        low, high = bound_text(column.minimum), bound_text(column.maximum)
        if column.maximum is None:
            return f"小于最小值 {low}", f"below the minimum of {low}"
        if column.minimum is None:
            return f"大于最大值 {high}", f"above the maximum of {high}"
        return f"超出范围 [{low}, {high}]", f"out of range [{low}, {high}]"
    if code is Reject.FUTURE:
        return "日期晚于今天", "date is in the future"
    if code is Reject.DUPLICATE:
        return f"键与第 {detail} 行重复", f"duplicate key of row {detail}"
    if code is Reject.REFERENCE:
        return f"引用的记录不存在（{detail}）", f"refers to a missing record ({detail})"
    if code is Reject.ENCODING:
        return (
            "不是有效的 UTF-8 文本，请用 --encoding gbk 等指定文件编码",
            "not valid UTF-8 text; name the file's encoding, e.g. --encoding gbk",
        )
    if code is Reject.MALFORMED:
        zh, en = malformed_reason(detail)
        return f"行格式错误：{zh}", f"malformed row: {en}"
    if code is Reject.SCOPE:
        return "超出您的管辖范围", "outside your scope"
    return str(code), str(code)


def bound_text(value: float | None) -> str:
    """A column's minimum or maximum as written in a reason: 0 rather than 0.0."""
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def malformed_reason(message: str) -> tuple[str, str]:
    """The CSV reader's message for a row it could not read, in Chinese and English."""
    counted = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if counted is not None:
        expected, found = int(counted[1]), int(counted[2])
        if found < expected:
            return (
                f"只有 {found} 个字段，应有 {expected} 个（行被截断？）",
                f"{found} fields where {expected} are expected (a truncated row?)",
            )
        return (
            f"有 {found} 个字段，应有 {expected} 个（多余字段，或值中的逗号未加引号？）",
            f"{found} fields where {expected} are expected "
            "(extra fields, or a comma in a value without quotes?)",
        )
    if "unterminated quote" in message.lower():
        return (
            "引号未闭合，其后直到文件末尾的内容都算作这个值",
            "a quote is opened and never closed; all that follows it is read as one value",
        )
    return message, message


def collect_rejects(
    *, con: duckdb.DuckDBPyConnection, table: Table, scan: RowPlaces, scoped: bool = False
) -> list[tuple[int, str, str, str, str, str]]:
    row_of = scan.row_of()
    found: list[tuple[int, str, str, str, str, str]] = []
    for row, message in scan.malformed:
        code = Reject.ENCODING if "unicode" in message.lower() else Reject.MALFORMED
        zh, en = reason_text(code, None, message)
        found.append((row, "", "", code, zh, en))
    for rid, name, value, code in con.sql(
        "SELECT rid, c, v, e FROM (SELECT rid, unnest(_errors, recursive := true) FROM errors)"
    ).fetchall():
        zh, en = reason_text(Reject(code), table.by_name[name])
        found.append((row_of(rid), name, value or "", code, zh, en))
    key_name = "+".join(table.key)
    key_values = " || '|' || ".join(
        f"coalesce(CAST(c.{quote(k)} AS VARCHAR), '')" for k in table.key
    )
    for rid, first, value in con.sql(
        f"SELECT d.rid, d.first_rid, {key_values} FROM duplicates d "
        "JOIN checked c ON c.rowid = d.rid"
    ).fetchall():
        zh, en = reason_text(Reject.DUPLICATE, None, str(row_of(first)))
        found.append((row_of(rid), key_name, value, Reject.DUPLICATE, zh, en))
    for column in table.columns:
        if column.references is None:
            continue
        for rid, value in con.sql(
            f"SELECT r.rid, CAST(c.{quote(column.name)} AS VARCHAR) FROM "
            f"{quote('_ref_' + column.name)} r JOIN checked c ON c.rowid = r.rid"
        ).fetchall():
            zh, en = reason_text(Reject.REFERENCE, None, ".".join(column.references))
            found.append((row_of(rid), column.name, value or "", Reject.REFERENCE, zh, en))
    if scoped:
        zh, en = reason_text(Reject.SCOPE, None)
        for rid, name, value in out_of_scope_values(con, table):
            found.append((row_of(rid), name, value, Reject.SCOPE, zh, en))
    found.sort(key=lambda r: (r[0], r[1]))
    return found


def write_quarantine(
    target: Path, file_name: str, rejects: list[tuple[int, str, str, str, str, str]]
) -> None:
    # The shared writer: values are the operator's, and a spreadsheet opens this file.
    write_csv(
        target,
        header=["file", "row", "column", "value", "reason_code", "reason_zh", "reason_en"],
        rows=([file_name, *reject] for reject in rejects),
    )
