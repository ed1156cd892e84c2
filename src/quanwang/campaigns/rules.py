"""Segment rules (目标客户界定): a tree of AND/OR/NOT over wide-table columns and ID lists.

A rule is JSON, saved with each segment version:

    {"all": [
        {"field": "arpu_3m", "op": ">=", "value": 80},
        {"field": "contract_expiring_3m", "op": "is", "value": true},
        {"not": {"field": "value_tier", "op": "in", "value": ["key"]}},
        {"any": [{"field": "churn_risk", "op": ">", "value": 0.05}, {"list": 12}]}
    ]}

`check_rule` validates it against a snapshot's columns (unknown fields, operators that do not
fit the column's type, values of the wrong type) and names the condition by its number
("条件 2.1": the first of the second condition's group) and the field by its label;
`normalise_rule` turns the words people type for yes and no (是/否, true/false, 1/0) into
booleans first; `compile_rule` turns it into one Ibis boolean expression over the snapshot
table; `describe` reads it back as text people use
("近3月ARPU ≥ 80 且 合约3个月内到期 且 非主顾客").
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import ibis
import ibis.expr.types as ir
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.rule_words import (
    CODES,
    NO_WORDS,
    SELF_NAMED,
    YES_WORDS,
    code_text,
    field_label,
)
from quanwang.insight.churn import NEGATED

MAX_DEPTH = 8
MAX_CONDITIONS = 60
# A rule's numbers are compared by DuckDB (or Spark) as BIGINT or DOUBLE: an integer past 64
# bits, or an infinite or NaN float (JSON's 1e400 reads as one), has no literal there.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
GROUPS = ("all", "any")

Path = tuple[int, ...]


class RuleError(Exception):
    """The rule cannot be used; the message names the condition's number and field."""


class Op(StrEnum):
    EQ = "="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    BETWEEN = "between"
    IN = "in"
    NOT_IN = "not_in"
    IS = "is"
    IS_NULL = "is_null"
    NOT_NULL = "not_null"


class Kind(StrEnum):
    NUMBER = "number"
    TEXT = "text"
    YES_NO = "yes_no"
    DATE = "date"


_ORDERED = {Op.EQ, Op.NE, Op.GT, Op.GE, Op.LT, Op.LE, Op.BETWEEN, Op.IS_NULL, Op.NOT_NULL}
OPS_BY_KIND = {
    Kind.NUMBER: _ORDERED,
    Kind.DATE: _ORDERED,
    Kind.TEXT: {Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.IS_NULL, Op.NOT_NULL},
    Kind.YES_NO: {Op.IS},
}
# The builder's order of the operators, and their names (the column headed 运算符).
OP_ORDER = tuple(Op)
OP_LABELS = {
    Op.EQ: gettext_lazy("equals"),
    Op.NE: gettext_lazy("does not equal"),
    Op.GT: gettext_lazy("greater than"),
    Op.GE: gettext_lazy("at least"),
    Op.LT: gettext_lazy("less than"),
    Op.LE: gettext_lazy("at most"),
    Op.BETWEEN: gettext_lazy("between"),
    Op.IN: gettext_lazy("is one of"),
    Op.NOT_IN: gettext_lazy("is none of"),
    Op.IS: gettext_lazy("is (yes or no)"),
    Op.IS_NULL: gettext_lazy("is empty"),
    Op.NOT_NULL: gettext_lazy("is not empty"),
}
SYMBOLS = {Op.EQ: "=", Op.NE: "≠", Op.GT: ">", Op.GE: "≥", Op.LT: "<", Op.LE: "≤"}


def column_kind(duckdb_type: str) -> Kind:
    upper = duckdb_type.upper()
    if upper == "BOOLEAN":
        return Kind.YES_NO
    if upper == "DATE":
        return Kind.DATE
    if upper == "VARCHAR" or upper.startswith("VARCHAR"):
        return Kind.TEXT
    return Kind.NUMBER


def op_label(op: Op) -> str:
    return str(OP_LABELS[op])


def _where(path: Path) -> str:
    if not path:
        return _("The rule")
    return _("Condition %(number)s") % {"number": ".".join(str(i + 1) for i in path)}


def _error(message: str, path: Path, **values: Any) -> RuleError:
    return RuleError(message % ({"where": _where(path)} | values))


def check_rule(
    rule: Any, *, columns: Mapping[str, str], lists: Callable[[int], bool] | None = None
) -> None:
    """Raise RuleError naming the first problem; `columns` maps names to DuckDB types, `lists`
    says whether an ID list exists."""
    count = [0]
    _check(rule, columns=columns, lists=lists, path=(), depth=0, count=count)


def _check(
    node: Any,
    *,
    columns: Mapping[str, str],
    lists: Callable[[int], bool] | None,
    path: Path,
    depth: int,
    count: list[int],
) -> None:
    if depth > MAX_DEPTH:
        raise _error(_("%(where)s: nested deeper than %(n)s levels"), path, n=MAX_DEPTH)
    if not isinstance(node, dict) or len(node) == 0:
        raise _error(_("%(where)s: a condition needs a field, an operator and a value"), path)
    count[0] += 1
    if count[0] > MAX_CONDITIONS:
        raise _error(_("%(where)s: more than %(n)s conditions"), path, n=MAX_CONDITIONS)
    for group in GROUPS:
        if group in node:
            children = node[group]
            if set(node) != {group} or not isinstance(children, list) or not children:
                raise _error(_("%(where)s: a group takes a non-empty list of conditions"), path)
            for index, child in enumerate(children):
                _check(
                    child, columns=columns, lists=lists, path=(*path, index), depth=depth + 1,
                    count=count,
                )  # fmt: skip
            return
    if "not" in node:
        if set(node) != {"not"}:
            raise _error(_("%(where)s: NOT takes one condition and nothing beside it"), path)
        _check(node["not"], columns=columns, lists=lists, path=path, depth=depth + 1, count=count)
        return
    if "list" in node:
        list_id = node["list"]
        if set(node) != {"list"} or not isinstance(list_id, int) or isinstance(list_id, bool):
            raise _error(_("%(where)s: an ID list condition names one list by its number"), path)
        if lists is not None and not lists(list_id):
            raise _error(
                _("%(where)s: ID list %(id)s does not exist or is not yours"), path, id=list_id
            )
        return
    _check_condition(node, columns=columns, path=path)


def _check_condition(node: dict[str, Any], *, columns: Mapping[str, str], path: Path) -> None:
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        raise _error(_("%(where)s: unknown keys %(keys)s"), path, keys="、".join(sorted(unknown)))
    field = str(node.get("field"))
    if field not in columns:
        raise _error(
            _(
                "%(where)s: “%(field)s” is not a column of the customer wide table (it may have "
                "been renamed or removed since the segment was saved)"
            ),
            path,
            field=field,
        )
    label = field_label(field)
    kind = column_kind(columns[field])
    try:
        op = Op(str(node.get("op")))
    except ValueError:
        raise _error(
            _("%(where)s: “%(field)s” has no operator %(op)s"), path, field=label, op=node.get("op")
        ) from None
    if op not in OPS_BY_KIND[kind]:
        allowed = "、".join(op_label(o) for o in OP_ORDER if o in OPS_BY_KIND[kind])
        raise _error(
            _("%(where)s: “%(field)s” takes the operators %(allowed)s, not %(op)s"),
            path,
            field=label,
            allowed=allowed,
            op=op_label(op),
        )
    value = node.get("value")
    if op in {Op.IS_NULL, Op.NOT_NULL}:
        return
    if value is None:
        raise _error(_("%(where)s: “%(field)s” needs a value"), path, field=label)
    if op is Op.IS:
        if not isinstance(value, bool):
            raise _error(
                _("%(where)s: “%(field)s” is yes or no: give true or false"), path, field=label
            )
        return
    if op is Op.BETWEEN:
        _check_between(value, kind=kind, field=field, path=path)
        return
    if op in {Op.IN, Op.NOT_IN}:
        if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            raise _error(
                _("%(where)s: “%(field)s” %(op)s takes a non-empty list of values"),
                path,
                field=label,
                op=op_label(op),
            )
        for text in value:
            _check_text(text, field=field, path=path)
        _check_codes(value, field=field, path=path)
        return
    _check_single(value, kind=kind, field=field, path=path)


def _check_single(value: Any, *, kind: Kind, field: str, path: Path) -> None:
    label = field_label(field)
    if kind is Kind.NUMBER:
        if not _is_number(value):
            raise _error(
                _("%(where)s: “%(field)s” is a number: %(value)s is not"),
                path,
                field=label,
                value=value,
            )
        _check_range(value, field=field, path=path)
    elif kind is Kind.DATE:
        _check_date(value, field=field, path=path)
    else:
        if not isinstance(value, str):
            raise _error(_("%(where)s: “%(field)s” is text: give a text value"), path, field=label)
        _check_text(value, field=field, path=path)
        _check_codes([value], field=field, path=path)


def _check_between(value: Any, *, kind: Kind, field: str, path: Path) -> None:
    label = field_label(field)
    if not (isinstance(value, list) and len(value) == 2):
        raise _error(
            _("%(where)s: “%(field)s” between takes two values, the low end and the high end"),
            path,
            field=label,
        )
    for end in value:
        _check_single(end, kind=kind, field=field, path=path)
    if value[0] > value[1]:
        raise _error(
            _("%(where)s: “%(field)s” between: the low end is above the high end"),
            path,
            field=label,
        )


def _check_codes(values: list[str], *, field: str, path: Path) -> None:
    codes = CODES.get(field)
    if codes is None:
        return
    wrong = [v for v in values if v not in codes]
    if wrong:
        raise _error(
            _("%(where)s: “%(field)s” has no codes %(wrong)s; it has %(codes)s"),
            path,
            field=field_label(field),
            wrong="、".join(wrong),
            codes="、".join(f"{code_text(field, c)}（{c}）" for c in codes),
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(value: Any, *, field: str, path: Path) -> None:
    inside = INT64_MIN <= value <= INT64_MAX if isinstance(value, int) else math.isfinite(value)
    if not inside:
        raise _error(
            _("%(where)s: “%(field)s”: the number is too large or not finite"),
            path,
            field=field_label(field),
        )


def _check_date(value: Any, *, field: str, path: Path) -> None:
    if isinstance(value, str) and len(value) == 10:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return
    raise _error(
        _("%(where)s: “%(field)s” is a date: give it as year-month-day, e.g. 2024-08-15"),
        path,
        field=field_label(field),
    )


def _check_text(value: Any, *, field: str, path: Path) -> None:
    # A NUL byte cannot be stored in PostgreSQL (the saved rule and its description hold it).
    if any(unicodedata.category(char) in {"Cc", "Cs"} for char in value):
        raise _error(
            _("%(where)s: “%(field)s”: control characters such as NUL are not allowed"),
            path,
            field=field_label(field),
        )


def normalise_rule(rule: Any, *, columns: Mapping[str, str]) -> Any:
    """The rule with the yes and no people type in yes/no conditions (是/否, true/false, 1/0,
    as text or number) made booleans; anything else is left for `check_rule` to refuse. A
    copy: the caller's rule is not changed."""
    if not isinstance(rule, dict):
        return rule
    if any(group in rule for group in GROUPS) or "not" in rule:
        return {
            key: (
                [normalise_rule(child, columns=columns) for child in value]
                if key in GROUPS and isinstance(value, list)
                else normalise_rule(value, columns=columns)
                if key == "not"
                else value
            )
            for key, value in rule.items()
        }
    field = rule.get("field")
    if not isinstance(field, str) or columns.get(field) is None or rule.get("op") != Op.IS:
        return dict(rule)
    if column_kind(columns[field]) is not Kind.YES_NO:
        return dict(rule)
    return rule | {"value": yes_no(rule.get("value"))} if "value" in rule else dict(rule)


def yes_no(value: Any) -> Any:
    """True or False for what people type as yes or no; `value` unchanged where it is neither
    (so that the check names it)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in {0, 1}:
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
    return value


def fields_of(rule: Any) -> set[str]:
    """Every column a rule reads."""
    if not isinstance(rule, dict):
        return set()
    found: set[str] = set()
    for group in GROUPS:
        for child in rule.get(group, []) or []:
            found |= fields_of(child)
    if "not" in rule:
        found |= fields_of(rule["not"])
    if "field" in rule:
        found.add(str(rule["field"]))
    return found


def lists_of(rule: Any) -> set[int]:
    """Every ID list a rule reads."""
    if not isinstance(rule, dict):
        return set()
    found: set[int] = set()
    for group in GROUPS:
        for child in rule.get(group, []) or []:
            found |= lists_of(child)
    if "not" in rule:
        found |= lists_of(rule["not"])
    if "list" in rule:
        found.add(int(rule["list"]))
    return found


def compile_rule(
    rule: dict[str, Any], table: ir.Table, lists: Mapping[int, ir.Table]
) -> ir.BooleanValue:
    """One Ibis boolean over `table`; `lists` holds each ID list as a table of subscriber_id.

    A comparison with a missing value is false (SQL's three-valued logic folded to false), so
    NOT of a condition is its complement: customers without ARPU are outside "ARPU ≥ 80" and
    inside "NOT ARPU ≥ 80".
    """
    if "all" in rule:
        parts = [compile_rule(child, table, lists) for child in rule["all"]]
        return ibis.and_(*parts)
    if "any" in rule:
        parts = [compile_rule(child, table, lists) for child in rule["any"]]
        return ibis.or_(*parts)
    if "not" in rule:
        return ~compile_rule(rule["not"], table, lists)
    if "list" in rule:
        members = lists[int(rule["list"])]
        return table.subscriber_id.isin(members.subscriber_id)
    column = table[rule["field"]]
    op = Op(rule["op"])
    value: Any = rule.get("value")
    if value is None and op not in {Op.IS_NULL, Op.NOT_NULL}:
        raise RuleError(f"{rule['field']} {op.value} needs a value")
    if op is Op.IS_NULL:
        return column.isnull()
    if op is Op.NOT_NULL:
        return column.notnull()
    if column.type().is_date():
        # A date column compares with dates; the rule holds them as "2024-08-15".
        value = [ibis.date(v) for v in value] if isinstance(value, list) else ibis.date(value)
    condition: ir.BooleanValue
    if op is Op.IS:
        condition = column == value
    elif op is Op.BETWEEN:
        condition = column.between(value[0], value[1])
    elif op is Op.IN:
        condition = column.isin(value)
    elif op is Op.NOT_IN:
        condition = column.notin(value)
    else:
        condition = {
            Op.EQ: column == value,
            Op.NE: column != value,
            Op.GT: column > value,
            Op.GE: column >= value,
            Op.LT: column < value,
            Op.LE: column <= value,
        }[op]
    return condition.fill_null(False)


Language = str  # "zh" or "en"


def describe(
    rule: dict[str, Any], *, language: Language = "zh", lists: Mapping[int, str] | None = None
) -> str:
    """The rule as text: "近3月ARPU ≥ 80 且 合约3个月内到期 且 非主顾客"."""
    return _describe(rule, language=language, lists=lists or {}, top=True)


def _describe(
    node: dict[str, Any], *, language: Language, lists: Mapping[int, str], top: bool
) -> str:
    zh = language == "zh"
    if "all" in node or "any" in node:
        group = "all" if "all" in node else "any"
        joiner = (" 且 " if zh else " and ") if group == "all" else (" 或 " if zh else " or ")
        text = joiner.join(
            _describe(child, language=language, lists=lists, top=False) for child in node[group]
        )
        return text if top or len(node[group]) == 1 else f"({text})"
    if "not" in node:
        inner = node["not"]
        if "field" in inner and Op(inner["op"]) in {Op.IS, Op.IN}:
            return _condition(inner, zh=zh, negate=True)
        body = _describe(inner, language=language, lists=lists, top=False)
        return f"非({body})" if zh else f"not ({body})"
    if "list" in node:
        name = lists.get(int(node["list"]), f"#{node['list']}")
        return f"在名单「{name}」中" if zh else f"in list “{name}”"
    return _condition(node, zh=zh, negate=False)


def _condition(node: dict[str, Any], *, zh: bool, negate: bool) -> str:
    field = str(node["field"])
    label = field_label(field, zh=zh)
    op = Op(node["op"])
    value: Any = node.get("value")
    if op is Op.IS:
        holds = bool(value) != negate
        if holds:
            return label
        negated = NEGATED.get(field)
        if negated is not None:
            return negated[0 if zh else 1]
        return f"非{label}" if zh else f"not {label}"
    if op in {Op.IN, Op.NOT_IN}:
        outside = (op is Op.NOT_IN) != negate
        names = [code_text(field, v, zh=zh) for v in value]
        if zh:
            joined = "、".join(names)
            return (
                ("非" if outside else "") + joined
                if field in SELF_NAMED
                else (f"{label}{'不是' if outside else '是'}{joined}")
            )
        if field in SELF_NAMED:
            return ("not " if outside else "") + " or ".join(names)
        return f"{label} {'not ' if outside else ''}in {', '.join(names)}"
    if op is Op.IS_NULL:
        return f"{label}为空" if zh else f"{label} is missing"
    if op is Op.NOT_NULL:
        return f"{label}非空" if zh else f"{label} is known"
    if op is Op.BETWEEN:
        low, high = value
        return f"{label} {_number(low)}–{_number(high)}"
    shown = code_text(field, value, zh=zh) if isinstance(value, str) else _number(value)
    return f"{label} {SYMBOLS[op]} {shown}"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
