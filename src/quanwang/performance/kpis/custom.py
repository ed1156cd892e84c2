"""Custom KPIs without code: a measure (count, count of distinct values, sum of a column) over
one fact table, with filters, and for a ratio a second measure as the denominator.

`check_definition` runs at save: the table exists, the columns exist with the right types,
filter values parse for their column's type, summed columns are numeric; an average — or a sum
of a per-row ratio column (a rate, a share, a probability) — is refused, since values must add
up the tree as a ratio of sums; then a dry run on the current data proves it runs. Every error
names the field at fault (ServiceError.field).

Where a row belongs: a table with `grid_id` counts at the grid (Grain.ORG_UNIT); with
`store_id`, at the store; with `enterprise_id`, at the account; otherwise through
`subscriber_id`, at the subscriber's grid. A dated table's rows count in their month
(facts.month_of); an undated one (subscribers…) is read as it is now, in every month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.data.schema import TABLES, ColumnType
from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime
from quanwang.performance.kpis.base import fact_rows, flag, months_table, sums
from quanwang.performance.kpis.choices import FilterOp, Measure
from quanwang.performance.kpis.definitions import BuildContext, FactTables, KpiDefinition
from quanwang.performance.kpis.facts import Fact, month_of
from quanwang.performance.periods import parse

NUMBER, TEXT, DATE, BOOL = "number", "text", "date", "bool"
_SCHEMA_KINDS = {
    ColumnType.STRING: TEXT,
    ColumnType.INT: NUMBER,
    ColumnType.FLOAT: NUMBER,
    ColumnType.MONEY: NUMBER,
    ColumnType.DATE: DATE,
    ColumnType.BOOL: BOOL,
}
#: Per-row ratios: summing them (or averaging) is not a ratio of sums.
RATIO_WORDS = ("rate", "ratio", "share", "saturation", "penetration", "probability", "risk", "pct")
AVERAGE_WORDS = ("avg", "average", "mean")
CUSTOM_TABLES = (
    Fact.SUBSCRIBERS, Fact.MONTHLY_USAGE, Fact.CONTACTS, Fact.COMPLAINTS, Fact.STORE_SALES,
    Fact.CHANNEL_SALES, Fact.ENTERPRISES, Fact.ENTERPRISE_PRODUCTS, Fact.ENTERPRISE_ORDERS,
    Fact.WIDE,
)  # fmt: skip


@dataclass(frozen=True)
class Definition:
    """A custom KPI's definition as saved (CustomKpi) or read from a JSON file."""

    code: str
    name: str
    unit: str
    direction: str
    aggregation: str
    over_time: str
    table: str
    measure: str
    column: str = ""
    denominator_measure: str = ""
    denominator_column: str = ""
    filters: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    denominator_filters: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    description: str = ""
    decimals: int = 0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Definition:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ServiceError(
                _("Unknown field “%(name)s”.") % {"name": unknown[0]}, field=unknown[0]
            )
        values = {k: v for k, v in data.items() if v is not None}
        for name in ("code", "name", "direction", "aggregation", "over_time", "table", "measure"):
            if not str(values.get(name, "")).strip():
                raise ServiceError(_("This field is required."), field=name)
        values.setdefault("unit", "")
        values["filters"] = tuple(values.get("filters") or ())
        values["denominator_filters"] = tuple(values.get("denominator_filters") or ())
        try:
            values["decimals"] = int(values.get("decimals") or 0)
        except (TypeError, ValueError):
            raise ServiceError(_("Write a whole number."), field="decimals") from None
        return cls(**values)

    @classmethod
    def of(cls, kpi: Any) -> Definition:
        """The definition a CustomKpi record holds."""
        return cls(
            code=kpi.code,
            name=kpi.name,
            unit=kpi.unit,
            direction=kpi.direction,
            aggregation=kpi.aggregation,
            over_time=kpi.over_time,
            table=kpi.table,
            measure=kpi.measure,
            column=kpi.column,
            denominator_measure=kpi.denominator_measure,
            denominator_column=kpi.denominator_column,
            filters=tuple(kpi.filters or ()),
            denominator_filters=tuple(kpi.denominator_filters or ()),
            description=kpi.description,
            decimals=kpi.decimals,
        )


def table_columns(table: str) -> dict[str, str] | None:
    """column → kind (number, text, date, bool) of a fact table a custom KPI may read; None
    when there is no such table (or no snapshot for the wide table)."""
    if table == Fact.WIDE.value:
        from quanwang.insight.snapshots import SnapshotStore

        snapshot = SnapshotStore().latest()
        if snapshot is None:
            return None
        return {name: _duck_kind(kind) for name, kind in snapshot.columns.items()}
    if table not in {t.value for t in CUSTOM_TABLES} or table not in TABLES:
        return None
    return {c.name: _SCHEMA_KINDS[c.type] for c in TABLES[table].columns}


def _duck_kind(kind: str) -> str:
    upper = kind.upper()
    if upper.startswith(
        (
            "BIGINT",
            "INTEGER",
            "DOUBLE",
            "FLOAT",
            "DECIMAL",
            "HUGEINT",
            "SMALLINT",
            "TINYINT",
            "UBIGINT",
            "REAL",
        )
    ):
        return NUMBER
    if upper.startswith(("DATE", "TIMESTAMP")):
        return DATE
    if upper.startswith("BOOLEAN"):
        return BOOL
    return TEXT


def _is_ratio_column(name: str) -> bool:
    return any(word in name.lower() for word in RATIO_WORDS)


def check_definition(
    data: Definition | Mapping[str, Any], *, dry_run: bool = True, taken: Sequence[str] = ()
) -> Definition:
    """The definition, checked (the module says what); ServiceError naming the field
    otherwise. `taken`: codes already used (the built-ins and other custom KPIs)."""
    definition = data if isinstance(data, Definition) else Definition.from_mapping(data)
    if definition.code in taken:
        raise ServiceError(
            _("The code “%(code)s” is already used by another KPI.") % {"code": definition.code},
            field="code",
        )
    for name, choices in (
        ("direction", Direction.values),
        ("aggregation", Aggregation.values),
        ("over_time", OverTime.values),
    ):
        value = getattr(definition, name)
        if str(value).lower() in AVERAGE_WORDS:
            raise _average(name)
        if value not in choices:
            raise ServiceError(_("“%(value)s” is not a choice.") % {"value": value}, field=name)
    columns = table_columns(definition.table)
    if columns is None:
        raise ServiceError(
            _("There is no fact table “%(table)s”.") % {"table": definition.table}, field="table"
        )
    _check_measure(definition.measure, definition.column, columns, field_prefix="")
    _check_filters(definition.filters, columns, name="filters")
    if definition.aggregation == Aggregation.RATIO:
        if not definition.denominator_measure:
            raise ServiceError(
                _("A ratio needs a denominator: define its measure."),
                field="denominator_measure",
            )
        _check_measure(
            definition.denominator_measure,
            definition.denominator_column,
            columns,
            field_prefix="denominator_",
        )
        _check_filters(definition.denominator_filters, columns, name="denominator_filters")
    if _placement(columns) is None:
        raise ServiceError(
            _(
                "The table has no column that places a row: grid_id, store_id, enterprise_id "
                "or subscriber_id."
            ),
            field="table",
        )
    if dry_run:
        _dry_run(definition)
    return definition


def _average(name: str) -> ServiceError:
    return ServiceError(
        _(
            "An average is refused: it does not add up the tree. Define a numerator and a "
            "denominator, each a count or a sum, as a ratio of sums."
        ),
        field=name,
    )


def _check_measure(
    measure: str, column: str, columns: Mapping[str, str], *, field_prefix: str
) -> None:
    if str(measure).lower() in AVERAGE_WORDS:
        raise _average(f"{field_prefix}measure")
    if measure not in Measure.values:
        raise ServiceError(
            _("“%(value)s” is not a measure: count, count_distinct or sum.") % {"value": measure},
            field=f"{field_prefix}measure",
        )
    if measure == Measure.COUNT:
        return
    where = f"{field_prefix}column"
    if column not in columns:
        raise ServiceError(
            _("The table has no column “%(column)s”.") % {"column": column}, field=where
        )
    if measure == Measure.SUM:
        if columns[column] != NUMBER:
            raise ServiceError(
                _("“%(column)s” is not a number: only numbers are summed.") % {"column": column},
                field=where,
            )
        if _is_ratio_column(column):
            raise ServiceError(
                _(
                    "“%(column)s” is a ratio per row: summing or averaging it is not a ratio of "
                    "sums. Define a numerator and a denominator, each a count or a sum, as a "
                    "ratio of sums."
                )
                % {"column": column},
                field=where,
            )


def _check_filters(
    filters: Sequence[Mapping[str, Any]], columns: Mapping[str, str], *, name: str
) -> None:
    if not isinstance(filters, (list, tuple)):
        raise ServiceError(_("Filters are a list."), field=name)
    for index, item in enumerate(filters):
        where = f"{name}[{index}]"
        if not isinstance(item, Mapping):
            raise ServiceError(_("A filter has a column, an operator and a value."), field=where)
        column, op = item.get("column"), item.get("op")
        if column not in columns:
            raise ServiceError(
                _("The table has no column “%(column)s”.") % {"column": column},
                field=f"{where}.column",
            )
        if op not in FilterOp.values:
            raise ServiceError(_("“%(op)s” is not an operator.") % {"op": op}, field=f"{where}.op")
        if op in (FilterOp.IS_NULL, FilterOp.NOT_NULL):
            continue
        values = item.get("value")
        if op == FilterOp.IN:
            values = _as_list(values)
            if not values:
                raise ServiceError(_("Name at least one value."), field=f"{where}.value")
        else:
            values = [values]
        for value in values:
            parse_value(value, columns[str(column)], where=f"{where}.value")


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def parse_value(value: Any, kind: str, *, where: str) -> Any:
    """A filter value as its column's type; ServiceError naming `where` otherwise."""
    text = str(value).strip() if value is not None else ""
    try:
        if kind == NUMBER:
            if isinstance(value, bool) or text == "":
                raise ValueError
            return float(text)
        if kind == DATE:
            return dt.date.fromisoformat(text)
        if kind == BOOL:
            truth = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}
            return truth[text.lower()]
    except (ValueError, KeyError):
        raise ServiceError(
            _("“%(value)s” is not a %(kind)s.") % {"value": text, "kind": _kind_label(kind)},
            field=where,
        ) from None
    if text == "":
        raise ServiceError(_("Write a value."), field=where)
    return text


def _kind_label(kind: str) -> str:
    return {NUMBER: _("number"), DATE: _("date (2024-06-30)"), BOOL: _("yes or no")}.get(
        kind, _("text")
    )


def _placement(columns: Mapping[str, str]) -> str | None:
    for name in ("grid_id", "store_id", "enterprise_id", "subscriber_id"):
        if name in columns:
            return name
    return None


# --- building ---------------------------------------------------------------------------


def _condition(
    table: ir.Table, filters: Sequence[Mapping[str, Any]], columns: Mapping[str, str]
) -> ir.BooleanValue:
    condition: ir.BooleanValue = ibis.literal(True)
    for item in filters:
        column, op = table[item["column"]], item["op"]
        kind = columns[item["column"]]
        if op == FilterOp.IS_NULL:
            condition &= column.isnull()
            continue
        if op == FilterOp.NOT_NULL:
            condition &= column.notnull()
            continue
        if op == FilterOp.IN:
            wanted = [parse_value(v, kind, where="") for v in _as_list(item.get("value"))]
            condition &= column.isin(wanted).fill_null(False)
            continue
        value = parse_value(item.get("value"), kind, where="")
        operators = {
            FilterOp.EQ: column.__eq__,
            FilterOp.NE: column.__ne__,
            FilterOp.GT: column.__gt__,
            FilterOp.GE: column.__ge__,
            FilterOp.LT: column.__lt__,
            FilterOp.LE: column.__le__,
        }
        compared = operators[FilterOp(op)](value)
        condition &= compared.fill_null(False)
    return condition


def _measure(table: ir.Table, measure: str, column: str, keep: ir.BooleanValue) -> ir.Value:
    """The row's contribution: 1 (a count), the column (a sum) — 0 where the filters fail."""
    if measure == Measure.SUM:
        return ibis.ifelse(keep, table[column].cast("float64").fill_null(0.0), 0.0)
    return flag(keep)


def _facts_of(definition: Definition, columns: Mapping[str, str]):  # type: ignore[no-untyped-def]
    def facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
        table = tables[definition.table]
        dated = month_of(table, definition.table)
        months = months_table(ctx)
        if dated is None:
            rows = table.cross_join(months)
        else:
            rows = table.mutate(_month=dated)
            rows = rows.join(months, rows._month == months.m_month)
        placement = _placement(columns)
        grain, key, unit = Grain.ORG_UNIT, None, None
        if (
            placement == "subscriber_id"
            and Fact.SUBSCRIBERS.value in tables
            and "grid_id" not in columns
        ):
            subs = tables[Fact.SUBSCRIBERS].select(
                "subscriber_id", s_grid=tables[Fact.SUBSCRIBERS].grid_id
            )
            rows = rows.join(subs, "subscriber_id")
            key = unit = rows.s_grid
        elif placement == "grid_id":
            key = unit = rows.grid_id
        elif placement == "store_id":
            stores = tables[Fact.STORES].select("store_id", s_grid=tables[Fact.STORES].grid_id)
            rows = rows.left_join(stores, "store_id")
            grain, key, unit = Grain.STORE, rows.store_id, rows.s_grid
        else:
            accounts = tables[Fact.ENTERPRISES].select(
                "enterprise_id", s_grid=tables[Fact.ENTERPRISES].grid_id
            )
            rows = rows.left_join(accounts, "enterprise_id")
            grain, key, unit = Grain.ACCOUNT, rows.enterprise_id, rows.s_grid
        top_keep = _condition(rows, definition.filters, columns)
        top = _measure(rows, definition.measure, definition.column, top_keep)
        ratio = definition.aggregation == Aggregation.RATIO
        bottom = None
        if ratio:
            bottom_keep = _condition(rows, definition.denominator_filters, columns)
            bottom = _measure(
                rows, definition.denominator_measure, definition.denominator_column, bottom_keep
            )
            rows = rows.filter(top_keep | bottom_keep)
        else:
            rows = rows.filter(top_keep)
        rows = rows.filter(key.notnull())
        detail = {
            name: rows[name].cast("string")
            for name in ("subscriber_id", "store_id", "enterprise_id")
            if name in columns
        }
        if definition.measure == Measure.COUNT_DISTINCT:
            detail["distinct_value"] = rows[definition.column].cast("string")
        return fact_rows(
            rows,
            grain=grain,
            key=key,
            org_unit=unit,
            day=rows.m_day,
            numerator=top,
            denominator=bottom,
            month=rows.m_month,
            **detail,
        )

    return facts


def _build_of(definition: Definition, facts):  # type: ignore[no-untyped-def]
    distinct = Measure.COUNT_DISTINCT
    if definition.measure != distinct and definition.denominator_measure != distinct:
        return lambda tables, ctx: sums(facts(tables, ctx))

    def build(tables: FactTables, ctx: BuildContext) -> ir.Table:
        # Distinct values are counted per key and day: a value counted in two grids counts in
        # each (the sum over grids may then exceed the distinct count above them).
        rows = facts(tables, ctx)
        group = ["grain", "key", "org_unit", "day"]
        top = (
            rows.filter(rows.numerator != 0).distinct_value.nunique()
            if definition.measure == distinct
            else rows.numerator.sum()
        )
        bottom = rows.denominator.sum()
        return rows.group_by(group).aggregate(
            numerator=top.cast("float64"), denominator=bottom.cast("float64")
        )

    return build


def to_kpi(definition: Definition) -> KpiDefinition:
    """The KpiDefinition of a checked custom definition."""
    columns = table_columns(definition.table) or {}
    facts = _facts_of(definition, columns)
    placement = _placement(columns)
    grains = {Grain.ORG_UNIT, Grain.STAFF}
    if placement == "store_id":
        grains.add(Grain.STORE)
    elif placement == "enterprise_id":
        grains.add(Grain.ACCOUNT)
    inputs = [definition.table]
    if placement == "subscriber_id" and "grid_id" not in columns:
        inputs.append(Fact.SUBSCRIBERS.value)
    elif placement == "store_id":
        inputs.append(Fact.STORES.value)
    elif placement == "enterprise_id":
        inputs.append(Fact.ENTERPRISES.value)
    detail = [("month", _("Month"))]
    for name, label in (
        ("subscriber_id", _("Subscriber ID")),
        ("store_id", _("Store ID")),
        ("enterprise_id", _("Enterprise ID")),
    ):
        if name in columns:
            detail.append((name, label))
    if definition.measure == Measure.COUNT_DISTINCT:
        detail.append(("distinct_value", definition.column))
    return KpiDefinition(
        code=definition.code,
        name=definition.name,
        unit=definition.unit,
        direction=Direction(definition.direction),
        aggregation=Aggregation(definition.aggregation),
        over_time=OverTime(definition.over_time),
        grains=frozenset(grains),
        inputs=tuple(inputs),
        build=_build_of(definition, facts),
        facts=facts,
        detail=tuple(detail),
        description=definition.description,
        builtin=False,
        decimals=definition.decimals,
        uses_snapshot=definition.table == Fact.WIDE.value,
    )


def _dry_run(definition: Definition) -> None:
    """Build the KPI's base values of the newest month on the current data (DuckDB)."""
    from quanwang.insight.snapshots import SnapshotStore
    from quanwang.performance.kpis.facts import default_months, open_fact_tables

    kpi = to_kpi(definition)
    month = default_months()[-1]
    ctx = BuildContext(as_of=parse(month).end, months=(month,))
    con = ibis.duckdb.connect()
    try:
        tables = open_fact_tables(con, snapshot=SnapshotStore().latest(), extracts={})
        missing = [name for name in kpi.inputs if name not in tables]
        if missing:
            raise ServiceError(
                _("The fact table “%(table)s” holds no data yet.") % {"table": missing[0]},
                field="table",
            )
        con.to_pyarrow(kpi.build(tables, ctx).limit(1))
    except ServiceError:
        raise
    except Exception as exc:  # what the engine refuses, in its words
        raise ServiceError(
            _("The KPI does not run on the current data: %(detail)s")
            % {"detail": (str(exc).splitlines() or [""])[0]},
            field="table",
        ) from exc
    finally:
        con.disconnect()
