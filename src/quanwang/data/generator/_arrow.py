"""Arrow column builders: fast string columns from numpy, and tables in the schema's exact shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from quanwang.data.arrow import table_schema

Arr = npt.NDArray[Any]


def fixed_width(buffer: Arr) -> Any:
    """A string array from an (n, width) uint8 matrix of ASCII bytes, without a Python loop."""
    rows, width = buffer.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(buffer, dtype=np.uint8)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))


def digits(prefix: str, numbers: Arr, width: int) -> Any:
    """`prefix` and each number zero-padded to `width` digits: U0000000042."""
    head = prefix.encode("ascii")
    out = np.empty((len(numbers), len(head) + width), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = np.asarray(numbers, dtype=np.int64).copy()
    for position in range(len(head) + width - 1, len(head) - 1, -1):
        out[:, position] = 48 + rest % 10
        rest //= 10
    return fixed_width(out)


def constant(value: str, rows: int) -> Any:
    raw = value.encode("utf-8")
    buffer = np.frombuffer(raw * rows, dtype=np.uint8).reshape(rows, len(raw))
    return fixed_width(buffer)


def blank(array: Any, missing: Arr | None) -> Any:
    """The array with rows where `missing` is true set to null."""
    if missing is None or not bool(np.any(missing)):
        return array
    nulls = pa.array(np.asarray(missing, dtype=bool))
    return pc.if_else(nulls, pa.scalar(None, array.type), array)


def pick(vocab: Sequence[str], index: Arr, missing: Arr | None = None) -> Any:
    """vocab[index] as a string array; rows where `missing` is true are null."""
    taken = pa.array(list(vocab), pa.string()).take(pa.array(np.asarray(index, dtype=np.int32)))
    return blank(taken, missing)


def join(*parts: Any) -> Any:
    return pc.binary_join_element_wise(*parts, "")


def dates(days: Arr, missing: Arr | None = None) -> Any:
    """date32 from whole days since 1970-01-01."""
    values = np.asarray(days, dtype=np.int32)
    mask = None if missing is None else np.asarray(missing, dtype=bool)
    return pa.array(values, pa.int32(), mask=mask).view(pa.date32())


def money(values: Arr) -> Arr:
    return np.round(np.asarray(values, dtype=np.float64), 2)


def build(name: str, columns: Mapping[str, Any]) -> Any:
    """A table of canonical table `name` in its exact column order and types."""
    schema = table_schema(name)
    if set(columns) != set(schema.names):
        raise ValueError(f"{name}: columns {sorted(set(columns) ^ set(schema.names))} differ")
    arrays = []
    for field in schema:
        value = columns[field.name]
        array = value if isinstance(value, pa.Array | pa.ChunkedArray) else pa.array(value)
        arrays.append(array if array.type == field.type else array.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def plain(columns: Mapping[str, Any], types: Mapping[str, Any]) -> Any:
    """A table outside the canonical schema (ground truth, staff) with the given types."""
    arrays = []
    for name, kind in types.items():
        value = columns[name]
        array = value if isinstance(value, pa.Array | pa.ChunkedArray) else pa.array(value)
        arrays.append(array if array.type == kind else array.cast(kind))
    return pa.Table.from_arrays(arrays, schema=pa.schema(list(types.items())))
