"""Fingerprints of the fact tables, per month: what tells an incremental run which (KPI, month)
pairs a late correction touched.

A table's fingerprint of a month is its row count and the sum of a hash of each row (every
column, as text, joined), reduced modulo a prime so the sum never overflows. A corrected,
added or removed row changes its month's fingerprint; the same rows in another order do not.
An undated table (a dimension) has one fingerprint under "*": a change to it redoes every month.
Fingerprints are compared only with those of the same engine (the hash functions differ).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

ALL_MONTHS = "*"
_PRIME = 2_147_483_647
_SEPARATOR = "\x1f"
_NULL = "\x00"


def of_table(table: ir.Table, month: Any) -> dict[str, list[int]]:
    """month → [row count, hash sum] of `table` (`month`: its month expression, or None)."""
    text = ibis.literal(_SEPARATOR).join(
        [table[c].cast("string").fill_null(_NULL) for c in table.columns]
    )
    keyed = table.mutate(
        _fp_month=month if month is not None else ibis.literal(ALL_MONTHS),
        _fp_hash=(text.hash() % _PRIME).cast("int64"),
    )
    summary = keyed.group_by("_fp_month").aggregate(
        n=keyed.count(), s=keyed._fp_hash.sum().cast("int64")
    )
    frame = summary.execute()
    return {
        str(m): [int(n), int(s)]
        for m, n, s in zip(frame["_fp_month"], frame["n"], frame["s"], strict=True)
    }


def changed_months(
    now: Mapping[str, Any], before: Mapping[str, Any] | None, months: Iterable[str]
) -> set[str]:
    """The months among `months` whose fingerprint differs (every one when the table is new or
    undated and changed)."""
    chosen = set(months)
    if before is None:
        return chosen
    if ALL_MONTHS in now or ALL_MONTHS in before:
        return (
            chosen if list(now.get(ALL_MONTHS, [])) != list(before.get(ALL_MONTHS, [])) else set()
        )
    return {m for m in chosen if list(now.get(m, [])) != list(before.get(m, []))}
