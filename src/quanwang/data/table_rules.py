"""Rules over a table's rows rather than one row's values (`schema.Table.parent`,
`schema.Table.belongs_to`). A file that breaks one is refused whole (ImportFailed, nothing
loaded), naming the file, the row and the column: quarantining a row of a cycle would leave
the rest of it loaded, and quarantining one of a member's two enterprises would pick one at
random.

Both run on the import's DuckDB connection, after the bad rows are known (`good`, `checked`).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
from django.utils.translation import gettext

from quanwang.data.load_modes import ImportFailed, merged
from quanwang.data.schema import Table
from quanwang.data.warehouse import Warehouse, quote

# rowid of `checked` → (file as shown, row in it): a workbook names its sheet.
Place = Callable[[int], tuple[str, int]]
# A cycle is named by this many of its IDs at most.
SHOWN_IN_CYCLE = 8


def check_table_rules(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    store: Warehouse,
    carried: list[str],
    place: Place,
) -> None:
    """Raise ImportFailed where the file breaks one of the table's rules."""
    if table.belongs_to is not None:
        _check_belongs_to(con=con, table=table, column=table.belongs_to, place=place)
    if table.parent is not None and table.parent in carried:
        _check_no_cycle(con=con, table=table, store=store, carried=carried, place=place)


def _check_belongs_to(
    *, con: duckdb.DuckDBPyConnection, table: Table, column: str, place: Place
) -> None:
    """Every key under one value of `column` in the file. The file's own rows only: a stored
    row under another value is moved by the upsert (the newer extract wins)."""
    # Only a key the file repeats can be under two values: the duplicate check has found
    # those rows already (`duplicates`: each repeat and the row it repeats).
    if not con.sql("SELECT 1 FROM duplicates LIMIT 1").fetchall():
        return
    keys = ", ".join(quote(k) for k in table.key)
    present = " AND ".join(f"{quote(k)} IS NOT NULL" for k in [*table.key, column])
    found = con.sql(
        f"SELECT list(rowid ORDER BY rowid), list({quote(column)} ORDER BY rowid) FROM checked "
        "WHERE rowid IN (SELECT rid FROM duplicates UNION SELECT first_rid FROM duplicates) "
        f"AND {present} GROUP BY {keys} HAVING count(DISTINCT {quote(column)}) > 1 "
        "ORDER BY min(rowid) LIMIT 1"
    ).fetchall()
    if not found:
        return
    rids, values = found[0]
    first_value = values[0]
    other = next(i for i, v in enumerate(values) if v != first_value)
    file, row = place(rids[other])
    _, first_row = place(rids[0])
    key_values = con.sql(
        f"SELECT {' || '.join(f'CAST({quote(k)} AS VARCHAR)' for k in table.key)} "
        f"FROM checked WHERE rowid = {int(rids[0])}"
    ).fetchall()[0][0]
    label = table.by_name[column]
    raise ImportFailed(
        gettext(
            "%(file)s: row %(row)d, column %(column)s (%(label)s): %(key)s is under %(value)s "
            "here and under %(first)s in row %(first_row)d; it can belong to only one. "
            "Nothing was loaded."
        )
        % {
            "file": file,
            "row": row,
            "column": column,
            "label": label.zh,
            "key": key_values,
            "value": values[other],
            "first": first_value,
            "first_row": first_row,
        }
    )


def _check_no_cycle(
    *,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    store: Warehouse,
    carried: list[str],
    place: Place,
) -> None:
    """The table as it would be after the import (the file's good rows and, in an upsert, the
    stored rows they leave) has no cycle of parents; else name the file's first row on one."""
    (key,) = table.key
    parent = table.parent
    assert parent is not None  # checked by the caller
    select = merged(table, store, carried)("true")
    edges = con.sql(
        f"SELECT CAST({quote(key)} AS VARCHAR), CAST({quote(parent)} AS VARCHAR) "
        f"FROM ({select}) WHERE {quote(parent)} IS NOT NULL"
    ).fetchall()
    cycle = _first_cycle(dict(edges))
    if not cycle:
        return
    on_cycle = ", ".join("'" + k.replace("'", "''") + "'" for k in cycle)
    rid = con.sql(
        f"SELECT min(c.rowid) FROM checked c SEMI JOIN good g ON g.{quote(key)} = c.{quote(key)} "
        f"WHERE c.{quote(key)} IN ({on_cycle})"
    ).fetchall()[0][0]
    start = (
        con.sql(
            f"SELECT CAST({quote(key)} AS VARCHAR) FROM checked WHERE rowid = {int(rid)}"
        ).fetchall()[0][0]
        if rid is not None
        else cycle[0]
    )
    # The cycle from the file's row on: E1 → E2 → E3 → E1.
    at = cycle.index(start)
    path = cycle[at:] + cycle[:at]
    shown = [*path[:SHOWN_IN_CYCLE], "…"] if len(path) > SHOWN_IN_CYCLE else path
    file, row = place(int(rid)) if rid is not None else ("", 0)
    raise ImportFailed(
        gettext(
            "%(file)s: row %(row)d, column %(column)s (%(label)s): the hierarchy would have a "
            "cycle (%(cycle)s). Nothing was loaded."
        )
        % {
            "file": file,
            "row": row,
            "column": parent,
            "label": table.by_name[parent].zh,
            "cycle": " → ".join([*shown, start]),
        }
    )


def _first_cycle(parent_of: dict[str, str]) -> list[str]:
    """The IDs of one cycle of `parent_of` (child → parent), in parent order; [] for none.

    Each node is walked once: a walk stops at a root, at a node an earlier walk finished, or
    at a node of its own path (a cycle)."""
    done: set[str] = set()
    for start in parent_of:
        if start in done:
            continue
        path: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path[node] = len(path)
            node = parent_of.get(node)
        if node is not None and node in path:
            order = list(path)
            return order[path[node] :]
        done.update(path)
    return []
