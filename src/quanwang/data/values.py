"""How the importer reads a value: SQL turning a source text into its column's type, and
naming the first rule a value breaks (a `rejects.Reject` code), or NULL."""

from __future__ import annotations

from quanwang.data.mapping import ColumnSource
from quanwang.data.rejects import Reject
from quanwang.data.schema import Column, ColumnType
from quanwang.data.warehouse import sql_literal

# The reader's types: whole numbers are read as DOUBLE so that 12.0 passes and 12.5 fails
# exactly as in the text conversion; only ISO dates are read as dates (see csv_relation).
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


def number_sql(text: str) -> str:
    # The plain cast first (it allows surrounding spaces): the clean-up of separators and
    # currency signs only runs for values the plain cast rejects.
    cleaned = f"regexp_replace({text}, '[,，¥￥元\\s]', '', 'g')"
    return f"COALESCE(TRY_CAST({text} AS DOUBLE), TRY_CAST({cleaned} AS DOUBLE))"


def one_of_sql(sql: str, values: tuple[str, ...]) -> str:
    # A chain of comparisons: DuckDB plans a long IN (...) as a join, far slower per column.
    cases = " ".join(f"WHEN {sql_literal(v)} THEN true" for v in values)
    return f"(CASE {sql} {cases} ELSE false END)"


def trimmed_sql(text: str) -> str:
    return f"NULLIF(trim({text}), '')"


def whole_sql(number: str) -> str:
    """SQL for a DOUBLE as a BIGINT; NULL where it is not whole or not finite (NaN = NaN and
    floor(inf) = inf in DuckDB), or beyond BIGINT (1e30): a plain CAST would fail the import."""
    return f"(CASE WHEN {number} = floor({number}) THEN TRY_CAST({number} AS BIGINT) END)"


def from_read_type_sql(column: Column, source: ColumnSource, value: str) -> str:
    """SQL giving the same result as `typed_sql` on the text, from the value the reader typed."""
    kind = column.type
    if kind is ColumnType.INT:
        return whole_sql(value)
    if kind is ColumnType.MONEY:
        if source.unit == "fen":
            return f"round({value} / 100.0, 2)"
        return f"round({value}, 2)"
    return value


def typed_sql(column: Column, source: ColumnSource, text: str) -> str:
    """SQL turning the source text into the column's type; NULL where it cannot."""
    kind = column.type
    if kind is ColumnType.STRING:
        return trimmed_sql(text)
    if kind is ColumnType.INT:
        return whole_sql(number_sql(text))
    if kind is ColumnType.FLOAT:
        return number_sql(text)
    if kind is ColumnType.MONEY:
        if source.unit == "fen":
            return f"round({number_sql(text)} / 100.0, 2)"
        return f"round({number_sql(text)}, 2)"
    v = trimmed_sql(text)
    if kind is ColumnType.BOOL:
        return (
            f"(CASE WHEN {one_of_sql(f'lower({v})', TRUE_WORDS)} THEN true "
            f"WHEN {one_of_sql(f'lower({v})', FALSE_WORDS)} THEN false END)"
        )
    serial = (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{5}}(\\.[0-9]+)?') "
        f"THEN DATE '1899-12-30' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) END"
    )
    formats = ("%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y.%m.%d")
    parsed = ", ".join(f"CAST(TRY_STRPTIME({v}, '{f}') AS DATE)" for f in formats)
    return f"COALESCE(TRY_CAST({text} AS DATE), {parsed}, {serial})"


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
