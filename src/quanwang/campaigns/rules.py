"""Segment rules (目标客户界定): a tree of AND/OR/NOT over wide-table columns and ID lists.

A rule is JSON, saved with each segment version:

    {"all": [
        {"field": "arpu_3m", "op": ">=", "value": 80},
        {"field": "contract_expiring_3m", "op": "is", "value": true},
        {"not": {"field": "value_tier", "op": "in", "value": ["key"]}},
        {"any": [{"field": "churn_risk", "op": ">", "value": 0.05}, {"list": 12}]}
    ]}

`check_rule` validates it against a snapshot's columns (unknown fields, operators that do not
fit the column's type, values of the wrong type); `compile_rule` turns it into one Ibis boolean
expression over the snapshot table; `describe` reads it back as text people use
("近3月ARPU ≥ 80 且 合约3个月内到期 且 非主顾客").
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import ibis
import ibis.expr.types as ir
from django.utils import translation
from django.utils.translation import gettext as _

from quanwang.insight.catalog import LABELS
from quanwang.insight.choices import LifecycleStage, ValueTier
from quanwang.insight.churn import NEGATED

MAX_DEPTH = 8
MAX_CONDITIONS = 60
# A rule's numbers are compared by DuckDB (or Spark) as BIGINT or DOUBLE: an integer past 64
# bits, or an infinite or NaN float (JSON's 1e400 reads as one), has no literal there.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class RuleError(Exception):
    """The rule cannot be used; the message names the condition's path and field."""


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


OPS_BY_KIND = {
    Kind.NUMBER: {Op.EQ, Op.NE, Op.GT, Op.GE, Op.LT, Op.LE, Op.BETWEEN, Op.IS_NULL, Op.NOT_NULL},
    Kind.TEXT: {Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.IS_NULL, Op.NOT_NULL},
    Kind.YES_NO: {Op.IS},
}
SYMBOLS = {Op.EQ: "=", Op.NE: "≠", Op.GT: ">", Op.GE: "≥", Op.LT: "<", Op.LE: "≤"}
# Coded columns and how their codes read.
CODED: dict[str, Mapping[str, Any]] = {
    "value_tier": {t.value: t for t in ValueTier},
    "lifecycle_stage": {s.value: s for s in LifecycleStage},
}
ZH_TIER_SHORT = {
    ValueTier.KEY: "主顾客",
    ValueTier.LARGE: "大顾客",
    ValueTier.REGULAR: "普通顾客",
    ValueTier.SMALL: "小顾客",
    LifecycleStage.ACQUIRE: "拉新期",
    LifecycleStage.ACTIVATE: "促活期",
    LifecycleStage.CONVERT: "转化期",
    LifecycleStage.RETAIN: "留存期",
}


def column_kind(duckdb_type: str) -> Kind:
    upper = duckdb_type.upper()
    if upper == "BOOLEAN":
        return Kind.YES_NO
    if upper in {"VARCHAR", "DATE"} or upper.startswith("VARCHAR"):
        return Kind.TEXT
    return Kind.NUMBER


def check_rule(
    rule: Any, *, columns: Mapping[str, str], lists: Callable[[int], bool] | None = None
) -> None:
    """Raise RuleError naming the first problem; `columns` maps names to DuckDB types, `lists`
    says whether an ID list exists."""
    count = [0]
    _check(rule, columns=columns, lists=lists, path="rule", depth=0, count=count)


def _check(
    node: Any,
    *,
    columns: Mapping[str, str],
    lists: Callable[[int], bool] | None,
    path: str,
    depth: int,
    count: list[int],
) -> None:
    if depth > MAX_DEPTH:
        raise RuleError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict) or len(node) == 0:
        raise RuleError(f"{path}: a condition is an object such as {{'field': …, 'op': …}}")
    count[0] += 1
    if count[0] > MAX_CONDITIONS:
        raise RuleError(f"{path}: more than {MAX_CONDITIONS} conditions")
    for group in ("all", "any"):
        if group in node:
            children = node[group]
            if set(node) != {group} or not isinstance(children, list) or not children:
                raise RuleError(f"{path}.{group}: give a non-empty list of conditions")
            for index, child in enumerate(children):
                _check(
                    child, columns=columns, lists=lists, path=f"{path}.{group}[{index}]",
                    depth=depth + 1, count=count,
                )  # fmt: skip
            return
    if "not" in node:
        if set(node) != {"not"}:
            raise RuleError(f"{path}.not: 'not' takes one condition and nothing beside it")
        _check(
            node["not"], columns=columns, lists=lists, path=f"{path}.not", depth=depth + 1,
            count=count,
        )  # fmt: skip
        return
    if "list" in node:
        list_id = node["list"]
        if set(node) != {"list"} or not isinstance(list_id, int) or isinstance(list_id, bool):
            raise RuleError(f"{path}: an ID list condition is {{'list': <list number>}}")
        if lists is not None and not lists(list_id):
            raise RuleError(f"{path}: ID list {list_id} does not exist or is not yours")
        return
    _check_condition(node, columns=columns, path=path)


def _check_condition(node: dict[str, Any], *, columns: Mapping[str, str], path: str) -> None:
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        raise RuleError(f"{path}: unknown keys {sorted(unknown)}")
    field = str(node.get("field"))
    if field not in columns:
        raise RuleError(
            f"{path}: field {field!r} is not a column of the wide table "
            "(it may have been renamed or removed since the segment was saved)"
        )
    kind = column_kind(columns[field])
    try:
        op = Op(str(node.get("op")))
    except ValueError:
        raise RuleError(f"{path}: unknown operator {node.get('op')!r} for {field}") from None
    if op not in OPS_BY_KIND[kind]:
        allowed = ", ".join(sorted(o.value for o in OPS_BY_KIND[kind]))
        raise RuleError(f"{path}: {field} takes the operators {allowed}, not {op.value}")
    value = node.get("value")
    if op in {Op.IS_NULL, Op.NOT_NULL}:
        return
    if op is Op.IS:
        if not isinstance(value, bool):
            raise RuleError(f"{path}: {field} is yes/no: give true or false")
        return
    if op is Op.BETWEEN:
        if not (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
            raise RuleError(f"{path}: {field} between takes [low, high] numbers")
        for end in value:
            _check_range(end, field=field, path=path)
        if value[0] > value[1]:
            raise RuleError(f"{path}: {field} between: the low end is above the high end")
        return
    if op in {Op.IN, Op.NOT_IN}:
        if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            raise RuleError(f"{path}: {field} {op.value} takes a non-empty list of texts")
        for text in value:
            _check_text(text, field=field, path=path)
        coded = CODED.get(field)
        if coded is not None:
            wrong = [v for v in value if v not in coded]
            if wrong:
                raise RuleError(f"{path}: {field} has no codes {wrong}; it has {sorted(coded)}")
        return
    if kind is Kind.NUMBER and not _is_number(value):
        raise RuleError(f"{path}: {field} is a number: {value!r} is not")
    if kind is Kind.NUMBER:
        _check_range(value, field=field, path=path)
    if kind is Kind.TEXT and not isinstance(value, str):
        raise RuleError(f"{path}: {field} is text: give a text value")
    if kind is Kind.TEXT:
        _check_text(value, field=field, path=path)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(value: Any, *, field: str, path: str) -> None:
    inside = INT64_MIN <= value <= INT64_MAX if isinstance(value, int) else math.isfinite(value)
    if not inside:
        raise RuleError(
            _("%(path)s: %(field)s: the number is too large or not finite")
            % {"path": path, "field": field}
        )


def _check_text(value: Any, *, field: str, path: str) -> None:
    # A NUL byte cannot be stored in PostgreSQL (the saved rule and its description hold it).
    if any(unicodedata.category(char) in {"Cc", "Cs"} for char in value):
        raise RuleError(
            _("%(path)s: %(field)s: control characters such as NUL are not allowed")
            % {"path": path, "field": field}
        )


def fields_of(rule: Any) -> set[str]:
    """Every column a rule reads."""
    if not isinstance(rule, dict):
        return set()
    found: set[str] = set()
    for group in ("all", "any"):
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
    for group in ("all", "any"):
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
    condition: ir.BooleanValue
    if op is Op.IS_NULL:
        return column.isnull()
    if op is Op.NOT_NULL:
        return column.notnull()
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
    label = LABELS.get(field, (field, field))[0 if zh else 1]
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
        names = [_code_text(field, v, zh=zh) for v in value]
        if zh:
            joined = "、".join(names)
            return (
                ("非" if outside else "") + joined
                if field in CODED
                else (f"{label}{'不是' if outside else '是'}{joined}")
            )
        if field in CODED:
            return ("not " if outside else "") + " or ".join(names)
        return f"{label} {'not ' if outside else ''}in {', '.join(names)}"
    if op is Op.IS_NULL:
        return f"{label}为空" if zh else f"{label} is missing"
    if op is Op.NOT_NULL:
        return f"{label}非空" if zh else f"{label} is known"
    if op is Op.BETWEEN:
        low, high = value
        return f"{label} {_number(low)}–{_number(high)}"
    return f"{label} {SYMBOLS[op]} {_number(value) if _is_number(value) else value}"


def _code_text(field: str, code: str, *, zh: bool) -> str:
    choice = CODED.get(field, {}).get(code)
    if choice is None:
        return code
    if zh:
        return ZH_TIER_SHORT.get(choice, code)
    with translation.override("en"):
        return str(choice.label).split(" (")[0]


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
