"""How an import lands on the stored table: the load modes (`schema.LoadMode`).

- Upsert: a row whose key is stored replaces it, in the columns the file carries only; the
  columns the file lacks keep their stored values (a newer extract without the consent or
  do-not-disturb flags must not make opted-out customers contactable). A new row gets NULL
  there, or, where such a column is required, is quarantined `required`.
- Replace: the file's good rows become the table. A file with no good row would empty it, and
  one whose keys leave out most of the stored rows would drop them: both are refused
  (ImportFailed, nothing changed) unless the caller says so.

These work on the import's DuckDB connection: `checked` (the file's typed rows) and `good`
(those that load).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
from django.utils.translation import get_language, gettext

from quanwang.data.import_scope import table_label
from quanwang.data.rejects import RejectRow
from quanwang.data.schema import LoadMode, Table
from quanwang.data.warehouse import (
    DUCKDB_TYPES,
    Warehouse,
    clustering,
    quote,
    scalar_int,
    sql_literal,
)

# A replace that would remove more than this share of the table's rows needs confirming.
REPLACE_CONFIRM_SHARE = 0.5


class ImportFailed(Exception):
    """Nothing was loaded; the message names the file and, where it can, the row and column."""


@dataclass(frozen=True)
class Modes:
    allow_empty: bool
    confirm_replace: bool


def guard_replace(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    store: Warehouse,
    loaded: int,
    rejects: list[RejectRow],
    modes: Modes,
    shown: str,
) -> None:
    """Refuse (ImportFailed, nothing changed) a replace that would empty a table holding rows
    unless `allow_empty`, or drop more than REPLACE_CONFIRM_SHARE of them unless
    `confirm_replace`. `allow_empty` is itself the confirmation of emptying."""
    if table.mode is not LoadMode.REPLACE or store.current_file(table.name) is None:
        return
    current = store.count(table.name)
    if current == 0:
        return
    label = table_label(table)
    if loaded == 0:
        if modes.allow_empty:
            return
        if not rejects:
            raise ImportFailed(
                gettext(
                    "%(file)s: the file has no data row, and loading it would empty %(table)s "
                    "(%(rows)d rows). Nothing was changed; to empty the table, pass "
                    "--allow-empty (in the console, tick the box that allows it)."
                )
                % {"file": shown, "table": label, "rows": current}
            )
        first = rejects[0]
        reason = first[5] if (get_language() or "").startswith("en") else first[4]
        raise ImportFailed(
            gettext(
                "%(file)s: every row was rejected (%(count)d; the first, row %(row)d: "
                "%(reason)s), and loading it would empty %(table)s (%(rows)d rows). Nothing "
                "was changed; to empty the table, pass --allow-empty (in the console, tick "
                "the box that allows it)."
            )
            % {
                "file": shown,
                "count": len({r[0] for r in rejects}),
                "row": first[0],
                "reason": reason,
                "table": label,
                "rows": current,
            }
        )
    if modes.confirm_replace:
        return
    keys = ", ".join(quote(k) for k in table.key)
    gone = scalar_int(
        con,
        f"SELECT count(*) FROM {store.relation(table.name)} s "
        f"ANTI JOIN (SELECT {keys} FROM good) g USING ({keys})",
    )
    if gone > current * REPLACE_CONFIRM_SHARE:
        raise ImportFailed(
            gettext(
                "%(file)s: this replace would remove %(gone)d of the %(rows)d rows of "
                "%(table)s (their keys are not in the file). Nothing was changed; if that is "
                "intended, pass --yes (in the console, tick the box that confirms it)."
            )
            % {"file": shown, "gone": gone, "rows": current, "table": label}
        )


def find_errors(
    *, con: duckdb.DuckDBPyConnection, table: Table, store: Warehouse, absent: list[str]
) -> None:
    """`errors(rid, _errors)`: the rows of `checked` that break a rule, with the rules. A
    required column the file lacks is NULL in every row: in the rows whose key is stored that
    is no error, as they keep their stored value."""
    unfilled = [n for n in absent if table.by_name[n].required]
    if not unfilled or store.current_file(table.name) is None:
        con.execute(
            "CREATE TABLE errors AS SELECT rowid AS rid, _errors FROM checked "
            "WHERE _errors IS NOT NULL"
        )
        return
    names = ", ".join(sql_literal(n) for n in unfilled)
    same_key = " AND ".join(f"s.{quote(k)} = c.{quote(k)}" for k in table.key)
    kept = f"list_filter(c._errors, lambda x: NOT (x.e = 'required' AND x.c IN ({names})))"
    con.execute(
        f"CREATE TABLE errors AS SELECT rid, _errors FROM (SELECT c.rowid AS rid, "
        f"CASE WHEN s._stored THEN {kept} ELSE c._errors END AS _errors FROM checked c "
        f"LEFT JOIN (SELECT {', '.join(quote(k) for k in table.key)}, true AS _stored "
        f"FROM {store.relation(table.name)}) s ON {same_key} "
        "WHERE c._errors IS NOT NULL) WHERE len(_errors) > 0"
    )


def merged(
    table: Table, store: Warehouse, carried: list[str] | None = None
) -> Callable[[str], str]:
    """SQL for the table's next rows that meet a condition: the new rows, plus for upserts the
    current rows not replaced. In an upsert, a replaced row keeps its stored values in the
    columns the file does not carry (`carried`; None: all)."""
    columns = ", ".join(quote(c.name) for c in table.columns)
    if table.mode is LoadMode.REPLACE or store.current_file(table.name) is None:
        return lambda where: f"SELECT {columns} FROM good WHERE {where}"
    keys = ", ".join(quote(k) for k in table.key)
    # A version stored before a column was added to the schema lacks it: null there.
    probe = duckdb.sql(f"SELECT * FROM {store.relation(table.name)} LIMIT 0")
    assert probe is not None  # a SELECT always gives a relation
    stored = set(probe.columns)

    def old_value(name: str, prefix: str = "") -> str:
        if name in stored:
            return f"{prefix}{quote(name)}" + (f" AS {quote(name)}" if prefix else "")
        return f"CAST(NULL AS {DUCKDB_TYPES[table.by_name[name].type]}) AS {quote(name)}"

    old = ", ".join(old_value(c.name) for c in table.columns)
    # The commit selects a range of the first clustering column at a time: a current row can
    # only be replaced by a new row in the same range where that column is part of the key.
    same_range = clustering(table)[0] in table.key
    absent = [c.name for c in table.columns if carried is not None and c.name not in carried]

    def new_rows(where: str) -> str:
        if not absent:
            return f"SELECT {columns} FROM good WHERE {where}"
        # The stored row of the same key, for the columns the file lacks (NULL for a new key).
        picked = ", ".join(
            old_value(c.name, "s.") if c.name in absent else f"g.{quote(c.name)}"
            for c in table.columns
        )
        kept = ", ".join(quote(n) for n in [*table.key, *absent] if n in stored)
        stored_where = where if same_range else "true"
        same_key = " AND ".join(f"s.{quote(k)} = g.{quote(k)}" for k in table.key)
        return (
            f"SELECT {picked} FROM (SELECT * FROM good WHERE {where}) g LEFT JOIN "
            f"(SELECT {kept} FROM {store.relation(table.name)} WHERE {stored_where}) s "
            f"ON {same_key}"
        )

    def select(where: str) -> str:
        new_keys = f"(SELECT {keys} FROM good WHERE {where})" if same_range else "good"
        return (
            f"{new_rows(where)} UNION ALL SELECT {old} FROM "
            f"(SELECT * FROM {store.relation(table.name)} WHERE {where}) old "
            f"ANTI JOIN {new_keys} new USING ({keys})"
        )

    return select
