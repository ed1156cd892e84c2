"""Joining the columns other apps provide (core.wide_columns) onto the wide table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.core.wide_columns import KEY, WideColumns, providers
from quanwang.insight.months import Month

logger = logging.getLogger(__name__)


def _arrow(provider: WideColumns, month: Month) -> pa.Table:
    """The provider's table, cast to its declared columns; an empty one if it fails (the
    snapshot is built without its facts rather than not at all)."""
    import ibis

    schema = ibis.schema({KEY: "string", **provider.columns}).to_pyarrow()
    try:
        table = provider.provide(str(month))
        return table.select(schema.names).cast(schema)
    except Exception:
        logger.exception("wide-table columns %s failed for %s", provider.name, month)
        return schema.empty_table()


def with_wide_columns(wide: ir.Table, *, con: Any, month: Month, scratch: Path) -> ir.Table:
    """`wide` with every registered provider's columns, left-joined on subscriber_id."""
    for provider in providers():
        path = scratch / f"wide_columns_{provider.name}.parquet"
        pq.write_table(_arrow(provider, month), path)
        extra = con.read_parquet(str(path), table_name=f"wide_columns_{provider.name}")
        wide = wide.left_join(extra, KEY).select(wide, *[extra[c] for c in provider.columns])
    return wide
