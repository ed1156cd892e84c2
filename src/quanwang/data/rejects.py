"""Why a row was set aside, in the quarantine file's words, and the quarantine file itself."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import duckdb
from django.utils.translation import gettext_lazy

from quanwang.core.tabular import write_csv
from quanwang.data.import_scope import out_of_scope_values
from quanwang.data.schema import Column, ColumnType, Table, TextFormat
from quanwang.data.text_files import megabytes
from quanwang.data.warehouse import quote

INT64_MAX = 2**63 - 1
# The CSV reader's message for a row longer than its max_line_size (sources.csv_relation).
LINE_TOO_LONG = re.compile(r"Maximum line size of (\d+) bytes exceeded\. Actual Size: ?(\d+)")
# One rejected value: (file row, column, value, reason code, reason in Chinese, in English).
RejectRow = tuple[int, str, str, str, str, str]
TYPE_NAMES = {
    ColumnType.STRING: ("文本", "text"),
    ColumnType.INT: ("整数", "a whole number"),
    ColumnType.FLOAT: (
        "数值（如 1234.5、1,234.5；逗号只用于每三位分隔）",
        "a number (e.g. 1234.5 or 1,234.5; a comma only between groups of three digits)",
    ),
    ColumnType.MONEY: (
        "金额（以元计最多两位小数，以分计须为整数）",
        "an amount (at most two decimals in yuan, a whole number in fen)",
    ),
    ColumnType.DATE: (
        "日期（2024-01-05、2024/1/5、20240105、2024.01.05 或 2024年1月5日）",
        "a date (2024-01-05, 2024/1/5, 20240105, 2024.01.05 or 2024年1月5日)",
    ),
    ColumnType.BOOL: ("是/否", "yes/no"),
}
FORMAT_NAMES = {
    TextFormat.MSISDN: (
        "手机号码（11 位数字，以 1 开头）",
        "a mobile number (11 digits starting with 1)",
    ),
    TextFormat.MONTH: (
        "账期（如 2024-06、202406、2024年6月）",
        "a month (e.g. 2024-06, 202406, 2024年6月)",
    ),
    TextFormat.CREDIT_CODE: (
        "统一社会信用代码（18 位，末位校验码须符合 GB 32100-2015）",
        "unified social credit code (18 characters, the last a check character per GB 32100-2015)",
    ),
}
# Rejected texts worth a hint of their own: Excel's scientific notation for a long number, a
# day and month in an order that cannot be told, and Excel's day numbers.
SCIENTIFIC = re.compile(r"\s*[0-9](\.[0-9]+)?[eE]\+?[0-9]+\s*")
DAY_MONTH_YEAR = re.compile(r"\s*[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}\s*")
SERIAL_DAY = re.compile(r"\s*[0-9]{5}(\.[0-9]+)?\s*")


class RowPlaces(Protocol):
    """Where the scanned rows lie in the file (`scan.Scan`)."""

    malformed: list[tuple[int, str]]
    excerpts: dict[int, str]  # row → the start of its text, for the malformed rows

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
    TOTALS = "totals"  # a workbook's 合计/总计/Total row (data.workbooks)


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
    Reject.TOTALS: gettext_lazy("Totals row"),
}


def reason_text(code: Reject, column: Column | None, detail: str = "") -> tuple[str, str]:
    """The reason for a rejected value, in Chinese and English."""
    if code is Reject.REQUIRED:
        return "必填字段为空", "required value is empty"
    if code is Reject.TYPE and column is not None:
        return type_reason(column, detail)
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
        # Naming the encoding would not help: the file's other rows are in the one found.
        return "此行的编码与文件其余部分不同", "this row is in another encoding"
    if code is Reject.MALFORMED:
        zh, en = malformed_reason(detail)
        return f"行格式错误：{zh}", f"malformed row: {en}"
    if code is Reject.SCOPE:
        return "超出您的管辖范围", "outside your scope"
    if code is Reject.TOTALS:
        return "合计行，不是数据", "a totals row, not data"
    return str(code), str(code)


def type_reason(column: Column, value: str) -> tuple[str, str]:
    """Why `value` is not of the column's type, with what to do where the value shows it."""
    zh, en = FORMAT_NAMES[column.format] if column.format else TYPE_NAMES[column.type]
    zh, en = f"不是有效的{zh}", f"not {en}"
    if column.format is TextFormat.MSISDN and SCIENTIFIC.fullmatch(value):
        return (
            f"{zh}：Excel 以科学计数法显示了这个号码，请在 Excel 中把该列设置为文本格式后重新导出",
            f"{en}: Excel wrote it in scientific notation; format the column as text in Excel "
            "and export it again",
        )
    if column.type is ColumnType.DATE and DAY_MONTH_YEAR.fullmatch(value):
        return (
            '日期有歧义（日/月/年还是月/日/年？），请在字段映射中写明格式，如 "format": "%d/%m/%Y"',
            "ambiguous date (day/month/year or month/day/year?): name its format in the column "
            'mapping, e.g. "format": "%d/%m/%Y"',
        )
    if column.type is ColumnType.DATE and SERIAL_DAY.fullmatch(value):
        return (
            f'{zh}；若是 Excel 的日期序号，请在字段映射中写明 "format": "excel_serial"',
            f'{en}; if it is an Excel serial date, name "format": "excel_serial" in the '
            "column mapping",
        )
    return zh, en


def bound_text(value: float | None) -> str:
    """A column's minimum or maximum as written in a reason: 0 rather than 0.0."""
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def malformed_reason(message: str) -> tuple[str, str]:
    """The CSV reader's message for a row it could not read, in Chinese and English."""
    too_long = LINE_TOO_LONG.search(message)
    if too_long is not None:
        limit, size = megabytes(int(too_long[1])), megabytes(int(too_long[2]))
        return (
            f"这一行有 {size} MB，超过了一行最多 {limit} MB 的限制",
            f"a row of {size} MB is longer than the {limit} MB a row may have",
        )
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
) -> list[RejectRow]:
    row_of = scan.row_of()
    found: list[RejectRow] = []
    for row, message in scan.malformed:
        code = Reject.ENCODING if "unicode" in message.lower() else Reject.MALFORMED
        zh, en = reason_text(code, None, message)
        found.append((row, "", scan.excerpts.get(row, ""), code, zh, en))
    # The value as the file has it: a typed read's own text where it kept one (scan.py).
    for rid, name, value, code in con.sql(
        "SELECT e.rid, e.c, coalesce(t.v, e.v), e.e FROM "
        "(SELECT rid, unnest(_errors, recursive := true) FROM errors) e "
        "LEFT JOIN file_texts t ON t.rid = e.rid AND t.c = e.c"
    ).fetchall():
        zh, en = reason_text(Reject(code), table.by_name[name], value or "")
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


def rows_by_reason(rejects: list[RejectRow]) -> dict[str, int]:
    """Rejected rows by reason: each row counted once under each distinct reason it has (a row
    with three bad values of one kind counts once), in the order of `Reject`."""
    found: dict[str, set[int]] = {}
    for row, _column, _value, code, _zh, _en in rejects:
        found.setdefault(str(code), set()).add(row)
    order = [str(code) for code in Reject if code in found]
    order += sorted(code for code in found if code not in order)
    return {code: len(found[code]) for code in order}


def write_quarantine(
    target: Path,
    file_name: str,
    rejects: list[RejectRow],
    *,
    place: Callable[[str, int], tuple[str, int]] | None = None,
) -> None:
    """The rejected rows as CSV, `file_name` naming the user's file. On disk, whole, when this
    returns: written beside `target` and renamed (core.tabular), then flushed to the disk, so
    that the version committed after it never names a partial file, even after a power cut.
    `place` gives a row's file and row where they are not `file_name` and the row itself (a
    workbook's sheet, data.workbooks)."""
    # The shared writer: values are the operator's, and a spreadsheet opens this file.
    write_csv(
        target,
        header=["file", "row", "column", "value", "reason_code", "reason_zh", "reason_en"],
        rows=(
            [*(place(file_name, reject[0]) if place else (file_name, reject[0])), *reject[1:]]
            for reject in rejects
        ),
    )
    for synced in (target, target.parent):
        handle = os.open(synced, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
