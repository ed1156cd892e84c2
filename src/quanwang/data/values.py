"""How the importer reads a value: SQL turning a source text into its column's type, and
naming the first rule a value breaks (a `rejects.Reject` code), or NULL.

Each type accepts a short list of written forms (docs/imports.md, "Parsing rules"), each read
as exactly the value it writes; a text in any other form is NULL here and quarantined, never
guessed at: "12,34" is no number and 05/01/2024 no date until the mapping names its format.
"""

from __future__ import annotations

from quanwang.data.credit_codes import credit_code_sql
from quanwang.data.mapping import EXCEL_SERIAL, ColumnSource
from quanwang.data.rejects import Reject
from quanwang.data.schema import Column, ColumnType, TextFormat
from quanwang.data.warehouse import sql_literal

# The reader's types: whole numbers are read as DOUBLE so that 12.0 passes and 12.5 fails
# exactly as in the text conversion; only ISO dates are read as dates (see csv_relation).
# The reader's DOUBLE accepts exactly what TRY_CAST(... AS DOUBLE) does (the fast path of
# `number_sql`); its dates are the first of `DATE_FORMS` but for two-digit and 0xxx years,
# which `from_read_type_sql` sets aside as the text rule does.
READ_TYPES = {
    ColumnType.INT: "DOUBLE",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.MONEY: "DOUBLE",
    ColumnType.DATE: "DATE",
    ColumnType.BOOL: "BOOLEAN",
}

# Number columns holding fractions: nan and ±inf read as numbers there, and are rejected.
FRACTIONAL = (ColumnType.FLOAT, ColumnType.MONEY)

TRUE_WORDS = ("1", "true", "t", "yes", "y", "是", "√", "on")
FALSE_WORDS = ("0", "false", "f", "no", "n", "否", "×", "off")

# Full-width digits, signs and separators, and the spaces NFKC turns into a plain space, as NFKC
# writes them (U+2212, the minus sign, is a plain minus too). Only the characters a number,
# date, month or phone number is written with: translate() is far cheaper than NFKC.
FULL_WIDTH = "０１２３４５６７８９．，－＋（）／：\u3000\u00a0\u2212"
HALF_WIDTH = "0123456789.,-+()/:  -"

# A number as written in a report: an optional sign or accounting parentheses for a negative,
# ¥/￥ before and 元 after, thousands separators only in groups of three after a first group of
# 1-3 digits that is not 0 (so "0,5" and "12,34", decimal commas elsewhere, never match).
# The replacement keeps "(" (made a minus below), the sign and the digits.
_DIGITS = r"((?:[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)"
WRITTEN_NUMBER = (
    rf"^\s*(?:(\()\s*[¥￥]?\s*{_DIGITS}\s*元?\s*\)"
    rf"|(?:([+-])\s*[¥￥]?|[¥￥]?\s*([+-])?)\s*{_DIGITS}\s*元?)\s*$"
)
WRITTEN_NUMBER_PARTS = r"\1\2\3\4\5"

YEAR = "[1-9][0-9]{3}"  # four digits: 0024-01-05 is a typing error, not the year 24
# (pattern, strptime format) of each date form, tried in this order on the trimmed text.
DATE_FORMS = (
    (rf"{YEAR}-[0-9]{{1,2}}-[0-9]{{1,2}}", "%Y-%m-%d"),
    (rf"{YEAR}/[0-9]{{1,2}}/[0-9]{{1,2}}", "%Y/%m/%d"),
    (rf"{YEAR}\.[0-9]{{1,2}}\.[0-9]{{1,2}}", "%Y.%m.%d"),
    (rf"{YEAR}[0-9]{{4}}", "%Y%m%d"),
    (rf"{YEAR}年[0-9]{{1,2}}月[0-9]{{1,2}}日", "%Y年%m月%d日"),
)
# A date and a time of day, as databases and Parquet timestamps write a date: the day is kept.
TIME_OF_DAY = r" ([01]?[0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
DATE_TIME_FORMS = DATE_FORMS[:2]
EXCEL_SERIAL_PATTERN = r"[0-9]{5}(\.[0-9]+)?"
# A month: 2024-06 as stored; 2024-6, 2024/6, 2024.06, 2024年6月 and 202406 are written so too.
MONTH = rf"{YEAR}-(0[1-9]|1[0-2])"
WRITTEN_MONTH = rf"^({YEAR})(?:[-/.]([0-9]{{1,2}})|年([0-9]{{1,2}})月?|([0-9]{{2}}))$"
# A mainland mobile number: 11 digits starting with 1, perhaps after +86 or 86.
MSISDN = "1[0-9]{10}"
WRITTEN_MSISDN = r"^(?:\+?86)?(1[0-9]{10})$"


def ascii_sql(text: str) -> str:
    return f"translate({text}, {sql_literal(FULL_WIDTH)}, {sql_literal(HALF_WIDTH)})"


def number_sql(text: str) -> str:
    """SQL for the DOUBLE a text writes; NULL where it writes none.

    The plain cast first: it allows surrounding spaces, 1e5, .5, 1_000 (underscores between
    digits), nan and inf, never a comma, and is exactly what the reader types as DOUBLE. Only
    values it rejects are matched against `WRITTEN_NUMBER`.
    """
    written = ascii_sql(text)
    pattern = sql_literal(WRITTEN_NUMBER)
    digits = (
        f"replace(translate(regexp_replace({written}, {pattern}, "
        f"{sql_literal(WRITTEN_NUMBER_PARTS)}), '(', '-'), ',', '')"
    )
    return (
        f"COALESCE(TRY_CAST({text} AS DOUBLE), CASE WHEN regexp_full_match({written}, {pattern}) "
        f"THEN TRY_CAST({digits} AS DOUBLE) END)"
    )


def one_of_sql(sql: str, values: tuple[str, ...]) -> str:
    # A chain of comparisons: DuckDB plans a long IN (...) as a join, far slower per column.
    cases = " ".join(f"WHEN {sql_literal(v)} THEN true" for v in values)
    return f"(CASE {sql} {cases} ELSE false END)"


def trimmed_sql(text: str) -> str:
    """SQL for the text without its surrounding spaces; NULL where nothing is left. trim() only
    where a space begins or ends it: prefix/suffix tests cost half what trim() does on every
    value (0.3 s against 0.6 s of CPU per 12M values)."""
    return (
        f"(CASE WHEN prefix({text}, ' ') OR suffix({text}, ' ') THEN NULLIF(trim({text}), '') "
        f"ELSE NULLIF({text}, '') END)"
    )


def whole_sql(number: str) -> str:
    """SQL for a DOUBLE as a BIGINT; NULL where it is not whole or not finite (NaN = NaN and
    floor(inf) = inf in DuckDB), or beyond BIGINT (1e30): a plain CAST would fail the import."""
    return f"(CASE WHEN {number} = floor({number}) THEN TRY_CAST({number} AS BIGINT) END)"


def amount_sql(number: str, unit: str) -> str:
    """SQL for an amount in yuan to the fen; NULL where the number has a fraction of a fen
    (12.345 yuan, 12.5 fen), which rounding would change. nan and ±inf pass, to be named."""
    yuan = f"({number} / 100.0)" if unit == "fen" else number
    fen = f"({yuan} * 100)"
    # A whole number of fen, but for the last bits of a DOUBLE: 1.15 * 100 = 114.99999999999999.
    whole = f"abs({fen} - round({fen})) <= 1e-9 * greatest(1, abs({fen}))"
    checked = f"CASE WHEN NOT isfinite({yuan}) THEN {yuan} WHEN {whole} THEN round({yuan}, 2) END"
    # The common case first, a third cheaper: a value already in whole fen, below 1e15 (where
    # `checked` finds it whole too and rounds it to itself; past 1e306 yuan, fen overflow there).
    whole_fen = f"round({number})" if unit == "fen" else f"round({number}, 2)"
    exact = f"{whole_fen} = {number} AND abs({number}) < 1e15"
    return f"(CASE WHEN {exact} THEN round({yuan}, 2) ELSE {checked} END)"


def date_sql(text: str, date_format: str = "") -> str:
    """SQL for the DATE a text writes in one of `DATE_FORMS`, or in the mapping's format tried
    first (a strptime format, or EXCEL_SERIAL); NULL otherwise. D/M/Y and M/D/Y forms are in
    none of them: 05/01/2024 is 5 January to some and May 1 to others."""
    v = f"trim({ascii_sql(text)}, ' \t\r\n')"
    cases = [
        f"WHEN regexp_full_match({v}, {sql_literal(pattern)}) "
        f"THEN TRY_STRPTIME({v}, {sql_literal(form)})"
        for pattern, form in DATE_FORMS
    ] + [
        f"WHEN regexp_full_match({v}, {sql_literal(pattern + TIME_OF_DAY)}) "
        f"THEN TRY_STRPTIME(split_part({v}, ' ', 1), {sql_literal(form)})"
        for pattern, form in DATE_TIME_FORMS
    ]
    if date_format == EXCEL_SERIAL:
        cases.insert(
            0,
            f"WHEN regexp_full_match({v}, {sql_literal(EXCEL_SERIAL_PATTERN)}) "
            f"THEN DATE '1899-12-30' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER)",
        )
    elif date_format:
        named = f"TRY_STRPTIME({v}, {sql_literal(date_format)})"
        cases.insert(0, f"WHEN year({named}) >= 1000 THEN {named}")
    return f"CAST(CASE {' '.join(cases)} END AS DATE)"


def month_sql(text: str) -> str:
    """SQL for a month as YYYY-MM from any of its written forms; NULL for others and for
    months that do not exist (2024-13). The stored form passes with one cheap match."""
    compact = f"regexp_replace({ascii_sql(text)}, '\\s', '', 'g')"
    parts = f"regexp_replace({compact}, {sql_literal(WRITTEN_MONTH)}, '\\1-\\2\\3\\4')"
    written = f"strftime(TRY_STRPTIME({parts}, '%Y-%m'), '%Y-%m')"
    return (
        f"(CASE WHEN regexp_full_match({text}, {sql_literal(MONTH)}) THEN {text} "
        f"WHEN regexp_full_match({compact}, {sql_literal(WRITTEN_MONTH)}) THEN {written} END)"
    )


def msisdn_sql(text: str) -> str:
    """SQL for a mobile number as its 11 digits, without spaces, hyphens or +86; NULL where it
    is none (1.38001380000E+10, Excel's way of showing a number column, included)."""
    compact = f"regexp_replace({ascii_sql(text)}, '[\\s-]', '', 'g')"
    digits = f"NULLIF(regexp_extract({compact}, {sql_literal(WRITTEN_MSISDN)}, 1), '')"
    plain = f"regexp_full_match({text}, {sql_literal(MSISDN)})"
    return f"(CASE WHEN {plain} THEN {text} ELSE {digits} END)"


def from_read_type_sql(column: Column, source: ColumnSource, value: str) -> str:
    """SQL giving the same result as `typed_sql` on the text, from the value the reader typed."""
    kind = column.type
    if kind is ColumnType.INT:
        return whole_sql(value)
    if kind is ColumnType.MONEY:
        return amount_sql(value, source.unit)
    if kind is ColumnType.DATE:
        # The reader takes 24-01-05 and 0024-01-05 as the year 24; the text rule wants four
        # digits from 1000 on, so these become a wrong type here too.
        return f"(CASE WHEN year({value}) >= 1000 THEN {value} END)"
    return value


def typed_sql(column: Column, source: ColumnSource, text: str) -> str:
    """SQL turning the source text into the column's type; NULL where it cannot."""
    kind = column.type
    if kind is ColumnType.STRING:
        if column.format is TextFormat.MONTH:
            return month_sql(text)
        if column.format is TextFormat.MSISDN:
            return msisdn_sql(text)
        if column.format is TextFormat.CREDIT_CODE:
            return credit_code_sql(text)
        return trimmed_sql(text)
    if kind is ColumnType.INT:
        return whole_sql(number_sql(text))
    if kind is ColumnType.FLOAT:
        return number_sql(text)
    if kind is ColumnType.MONEY:
        return amount_sql(number_sql(text), source.unit)
    if kind is ColumnType.BOOL:
        v = trimmed_sql(text)
        return (
            f"(CASE WHEN {one_of_sql(f'lower({v})', TRUE_WORDS)} THEN true "
            f"WHEN {one_of_sql(f'lower({v})', FALSE_WORDS)} THEN false END)"
        )
    return date_sql(text, source.format)


def error_sql(column: Column, blank: str, typed: str, *, number: str) -> str:
    """SQL naming the first rule this value breaks (a reason code), or NULL.

    `blank` is SQL telling an empty value from a wrong one, and `number` SQL for the value read
    as a DOUBLE (telling 1e30 or nan from text that is no number for a whole-number column);
    both only run where the value did not convert.
    """
    empty = "'" + Reject.REQUIRED + "'" if column.required else "NULL"
    checks = [f"WHEN {typed} IS NULL AND {blank} THEN {empty}"]
    if column.type is ColumnType.INT:
        checks += [
            f"WHEN {typed} IS NULL AND NOT isfinite({number}) THEN '{Reject.NOT_FINITE}'",
            f"WHEN {typed} IS NULL AND {number} = floor({number}) THEN '{Reject.TOO_LARGE}'",
        ]
    checks.append(f"WHEN {typed} IS NULL THEN '{Reject.TYPE}'")
    if column.type in FRACTIONAL:
        checks.append(f"WHEN NOT isfinite({typed}) THEN '{Reject.NOT_FINITE}'")
    if column.choices:
        allowed = one_of_sql(f"CAST({typed} AS VARCHAR)", column.choices)
        checks.append(f"WHEN NOT {allowed} THEN '{Reject.CHOICE}'")
    if column.minimum is not None:
        checks.append(f"WHEN {typed} < {column.minimum} THEN '{Reject.RANGE}'")
    if column.maximum is not None:
        checks.append(f"WHEN {typed} > {column.maximum} THEN '{Reject.RANGE}'")
    if column.not_future:
        checks.append(f"WHEN {typed} > current_date THEN '{Reject.FUTURE}'")
    return "(CASE " + " ".join(checks) + " END)"


def broken_sql(column: Column, blank: str, typed: str) -> str:
    """SQL true where `error_sql` names a rule: tested on every row, the codes only on those."""
    rules = []
    if column.type in FRACTIONAL:
        rules.append(f"NOT isfinite({typed})")
    if column.choices:
        rules.append(f"NOT {one_of_sql(f'CAST({typed} AS VARCHAR)', column.choices)}")
    if column.minimum is not None:
        rules.append(f"{typed} < {column.minimum}")
    if column.maximum is not None:
        rules.append(f"{typed} > {column.maximum}")
    if column.not_future:
        rules.append(f"{typed} > current_date")
    missing = "true" if column.required else f"NOT ({blank})"
    return f"(CASE WHEN {typed} IS NULL THEN {missing} ELSE {' OR '.join(rules) or 'false'} END)"
