"""The canonical tables' Arrow schemas, for writers that build Parquet without DuckDB."""

from __future__ import annotations

from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.data.schema import TABLES, ColumnType

ARROW_TYPES: dict[ColumnType, Any] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.MONEY: pa.float64(),
    ColumnType.DATE: pa.date32(),
    ColumnType.BOOL: pa.bool_(),
}


def table_schema(name: str) -> Any:
    """The Arrow schema of a canonical table: its columns in order, with their types."""
    return pa.schema([pa.field(col.name, ARROW_TYPES[col.type]) for col in TABLES[name].columns])
