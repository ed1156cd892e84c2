"""Column mappings: how a foreign export's columns become a canonical table's columns.

A mapping is JSON, saved by name and reused:

    {"columns": {
        "subscriber_id": {"from": "customerID"},
        "payment_type": {"const": "postpaid"},
        "status": {"from": "Churn", "map": {"Yes": "churned", "No": "active"}},
        "monthly_fee": {"from": "MonthlyCharges", "unit": "fen"},
        "join_date": {"expr": "DATE '2024-06-01' - CAST(tenure AS INTEGER) * 30"},
        "churn_date": {"from": "离网日期", "format": "%d/%m/%Y"}
    }}

Without a mapping, a target column is read from the source column of the same name, or of
its Chinese or English label, compared as `header_key` writes them (出账收入（元） is
出账收入(元)); two source columns for one target are an error, not a choice. A date column's
"format" names a form its values are read in besides the unambiguous ones (data.values):
a strptime format with the day, month and four-digit year, or "excel_serial". Expressions
are checked: only column names, literals, arithmetic, comparisons, CASE and a short list of
functions pass.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from django.utils.translation import gettext as _
from sqlglot import exp

from quanwang.data.schema import Column, ColumnType, Table
from quanwang.data.warehouse import quote, sql_literal

ALLOWED_FUNCTIONS = frozenset(
    {
        "abs", "cast", "trycast", "coalesce", "concat", "lower", "upper", "trim", "substring",
        "substr", "replace", "round", "floor", "ceil", "nullif", "length", "left", "right",
        "strptime", "strftime", "date_add", "datediff", "least", "greatest", "if", "lpad",
        "rpad", "regexp_replace", "split_part",
    }
)  # fmt: skip
ALLOWED_NODES = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Neg,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.DPipe, exp.EQ, exp.NEQ, exp.GT, exp.GTE,
    exp.LT, exp.LTE, exp.And, exp.Or, exp.Not, exp.Is, exp.In, exp.Case, exp.If, exp.DataType,
    exp.Cast, exp.TryCast, exp.Interval, exp.Var, exp.Func, exp.Anonymous, exp.Tuple,
)  # fmt: skip


# A date column's format where its values are Excel's day numbers (45296 = 2024-01-05); a
# five-digit number is read so only where the mapping says.
EXCEL_SERIAL = "excel_serial"
# The strptime directives a date format uses: the day, month and four-digit year once each
# (%y, a two-digit year, would be a guess at the century), and perhaps a time of day, once each.
DATE_DIRECTIVES = "dmY"
TIME_DIRECTIVES = "HMS"


class MappingError(Exception):
    """The mapping cannot be used; the message names the target column."""


def header_key(name: str) -> str:
    """A header as it is compared with a column's name and labels: NFKC (full-width letters,
    digits, brackets and spaces as plain ones), without case or whitespace."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(frozen=True)
class ColumnSource:
    sql: str  # a VARCHAR expression over the staging table `raw`
    origin: str  # what the user sees: the source column, constant or expression
    unit: str = "yuan"
    format: str = ""  # a date column's: a strptime format or EXCEL_SERIAL


@dataclass
class CompiledMapping:
    sources: dict[str, ColumnSource] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)


def _check_expression(target: str, text: str, columns: list[str] | None) -> str:
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise MappingError(
            _("%(column)s: the expression cannot be read (%(detail)s)")
            % {"column": target, "detail": exc}
        ) from exc
    for node in tree.walk():
        if not isinstance(node, ALLOWED_NODES):
            raise MappingError(
                _("%(column)s: %(part)s is not allowed in an expression")
                % {"column": target, "part": node.sql(dialect="duckdb")}
            )
        if isinstance(node, exp.Func) and not isinstance(node, exp.Cast | exp.TryCast):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name not in ALLOWED_FUNCTIONS and not isinstance(node, exp.Case | exp.If):
                raise MappingError(
                    _("%(column)s: the function %(function)s is not allowed")
                    % {"column": target, "function": name}
                )
        if isinstance(node, exp.Column) and columns is not None and node.name not in columns:
            raise MappingError(
                _("%(column)s: the expression names an unknown column %(name)s")
                % {"column": target, "name": node.name}
            )
    return tree.sql(dialect="duckdb")


def _value_map(sql: str, values: dict[str, Any]) -> str:
    cases = " ".join(
        f"WHEN {sql_literal(str(k))} THEN {sql_literal(str(v))}" for k, v in values.items()
    )
    return f"(CASE trim({sql}) {cases} ELSE {sql} END)"


def compile_mapping(
    *, table: Table, source_columns: list[str], spec: dict[str, Any] | None
) -> CompiledMapping:
    """Resolve every canonical column to an expression over the source, or leave it out."""
    declared: dict[str, Any] = dict((spec or {}).get("columns", {}))
    unknown_targets = sorted(set(declared) - set(table.by_name))
    if unknown_targets:
        raise MappingError(
            _("the mapping names columns %(table)s does not have: %(columns)s")
            % {"table": table.name, "columns": ", ".join(unknown_targets)}
        )
    by_label: dict[str, str] = {}
    for column in table.columns:
        for label in (column.name, column.zh, column.en):
            by_label.setdefault(header_key(label), column.name)
    # Aliases after every label: a header that is one column's label never goes to another's
    # alias.
    for column in table.columns:
        for label in column.aliases:
            by_label.setdefault(header_key(label), column.name)
    found: dict[str, list[str]] = {}
    for name in source_columns:
        target = by_label.get(header_key(name))
        if target is not None:
            found.setdefault(target, []).append(name)
    compiled = CompiledMapping()
    used: set[str] = set()
    for column in table.columns:
        rule = declared.get(column.name)
        source = _resolve(column, rule, source_columns, found.get(column.name, []))
        if source is None:
            continue
        compiled.sources[column.name] = source
        if rule is None or "from" in rule:
            used.add(source.origin)
        elif "expr" in rule:
            used.update(c for c in source_columns if c in rule["expr"])
    compiled.unused = [c for c in source_columns if c not in used]
    return compiled


def _one_of(column: Column, names: list[str]) -> str:
    if len(names) > 1:
        raise MappingError(
            _("%(column)s: the file has several columns for it: %(names)s; keep one")
            % {"column": column.name, "names": ", ".join(names)}
        )
    return names[0]


def _resolve(
    column: Column, rule: Any, source_columns: list[str], headers: list[str]
) -> ColumnSource | None:
    """How `column` is read; `headers` are the source columns whose header is its name or a
    label."""
    if rule is None:
        if not headers:
            return None
        name = _one_of(column, headers)
        return ColumnSource(sql=f"raw.{quote(name)}", origin=name)
    if not isinstance(rule, dict):
        raise MappingError(
            _('%(column)s: a rule is an object like {"from": "col"}') % {"column": column.name}
        )
    unit = str(rule.get("unit", "yuan"))
    if unit not in {"yuan", "fen"}:
        raise MappingError(
            _("%(column)s: unit is yuan or fen, not %(unit)s")
            % {"column": column.name, "unit": unit}
        )
    date_format = check_format(column, rule["format"]) if "format" in rule else ""
    if "const" in rule:
        return ColumnSource(
            sql=sql_literal(str(rule["const"])),
            origin="=" + str(rule["const"]),
            format=date_format,
        )
    if "expr" in rule:
        checked = _check_expression(column.name, str(rule["expr"]), source_columns)
        sql = f"CAST(({checked}) AS VARCHAR)"
        return ColumnSource(sql=sql, origin=str(rule["expr"]), unit=unit, format=date_format)
    if "from" in rule:
        wanted = str(rule["from"])
        # The header as written, or else the one header that differs from it only as
        # `header_key` ignores.
        matches = (
            [wanted]
            if wanted in source_columns
            else [c for c in source_columns if header_key(c) == header_key(wanted)]
        )
        if not matches:
            raise MappingError(
                _("%(column)s: the file has no column %(name)s")
                % {"column": column.name, "name": wanted}
            )
        name = _one_of(column, matches)
        sql = f"raw.{quote(name)}"
        if isinstance(rule.get("map"), dict):
            sql = _value_map(sql, rule["map"])
        return ColumnSource(sql=sql, origin=name, unit=unit, format=date_format)
    raise MappingError(_("%(column)s: give one of from, const or expr") % {"column": column.name})


def check_format(column: Column, value: Any) -> str:
    """A rule's "format", checked: a date column's strptime format naming the day, month and
    four-digit year once each (%d/%m/%Y), or EXCEL_SERIAL."""
    if column.type is not ColumnType.DATE:
        raise MappingError(
            _("%(column)s: a format can only be given for a date column") % {"column": column.name}
        )
    text = str(value)
    if text == EXCEL_SERIAL:
        return text
    used = re.findall(r"%(.)", text)
    known = re.fullmatch(f"(?:[^%]|%[{DATE_DIRECTIVES}{TIME_DIRECTIVES}])+", text) is not None
    if (
        not known
        or sorted(d for d in used if d in DATE_DIRECTIVES) != sorted(DATE_DIRECTIVES)
        or any(used.count(d) > 1 for d in TIME_DIRECTIVES)
    ):
        raise MappingError(
            _(
                "%(column)s: a date format names the day, month and four-digit year once "
                "each, as in %(example)s, or is %(serial)s; not %(format)s"
            )
            % {
                "column": column.name,
                "example": "%d/%m/%Y",
                "serial": EXCEL_SERIAL,
                "format": text,
            }
        )
    return text


def validate_spec(*, table: Table, spec: Any) -> None:
    """Check a mapping before it is saved: its targets, rule shapes and expressions."""
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise MappingError(_('a mapping is an object with a "columns" object'))
    declared: dict[str, Any] = spec["columns"]
    unknown_targets = sorted(set(declared) - set(table.by_name))
    if unknown_targets:
        raise MappingError(
            _("%(table)s has no columns %(columns)s")
            % {"table": table.name, "columns": ", ".join(unknown_targets)}
        )
    for target, rule in declared.items():
        if not isinstance(rule, dict) or not {"from", "const", "expr"} & set(rule):
            raise MappingError(
                _("%(column)s: give one of from, const or expr") % {"column": target}
            )
        if rule.get("unit", "yuan") not in {"yuan", "fen"}:
            raise MappingError(_("%(column)s: unit is yuan or fen") % {"column": target})
        if "format" in rule:
            check_format(table.by_name[target], rule["format"])
        if "expr" in rule:
            _check_expression(target, str(rule["expr"]), None)
