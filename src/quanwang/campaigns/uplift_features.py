"""What the uplift learners see: numeric and yes/no columns as they are, text columns one-hot.

A text column (a plan type, a value tier, an e-mail campaign's `channel` or `zip_code`) is a
feature when it has 2 to `MAX_LEVELS` distinct values: each value seen in training becomes a
0/1 column `name=value`; a value not seen in training, or an empty one, is 0 in every column
of its name. Identifiers and codes with more values (subscriber, grid) carry no pattern that
carries over to other customers and are left out, as are the campaign history (for segment
rules, not models: `insight.history`) and the churn model's reasons (another model's output).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from quanwang.insight.churn import feature_columns, to_matrix
from quanwang.insight.history import HISTORY_COLUMNS

# More distinct values than this and a text column is an identifier or a free text, not a
# category: 30 holds a province's cities, plan families or value tiers.
MAX_LEVELS = 30
TEXT_NOT_FEATURES = frozenset(
    {"subscriber_id", "grid_id", "snapshot_month", "churn_reasons", "churn_reasons_zh",
     "churn_reasons_en"}
    | set(HISTORY_COLUMNS)
)  # fmt: skip
# LightGBM refuses feature names with JSON's special characters and warns on spaces.
_UNSAFE_NAME = re.compile(r'[\s"\',:\[\]{}]')


class FeatureError(ValueError):
    """The table cannot be turned into the learner's features; the message says why."""


def is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _text_column(table: pa.Table, name: str) -> pa.ChunkedArray:
    return table.column(name).cast(pa.string())


def text_features(*, table: pa.Table) -> list[str]:
    """The table's text columns that are categories (2 to MAX_LEVELS distinct values)."""
    chosen = []
    for column in table.schema:
        if column.name in TEXT_NOT_FEATURES or not is_text(column.type):
            continue
        distinct = pc.count_distinct(_text_column(table, column.name), mode="only_valid")
        if 2 <= distinct.as_py() <= MAX_LEVELS:
            chosen.append(column.name)
    return chosen


def uplift_features(*, table: pa.Table) -> list[str]:
    """The table's numeric and yes/no columns, less identifiers and the campaign history, and
    its text columns that are categories; sorted, because LightGBM's column sampling follows
    the order and engines order the wide table differently."""
    schema = dict(ibis.Schema.from_pyarrow(table.schema).items())
    numeric = [name for name in feature_columns(schema) if name not in HISTORY_COLUMNS]
    return sorted(numeric + text_features(table=table))


@dataclass(frozen=True)
class Encoding:
    """How a table becomes the learner's matrix: `columns` in order, a text column spread
    into one 0/1 column per value of `levels[column]`."""

    columns: list[str]
    levels: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, *, table: pa.Table, columns: Sequence[str]) -> Encoding:
        """Learn each text column's values from `table` (its MAX_LEVELS most frequent, ties by
        value, when a column named on purpose has more)."""
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise FeatureError("the table lacks the features: " + ", ".join(missing))
        levels = {}
        for name in columns:
            if not is_text(table.schema.field(name).type):
                continue
            counts = pc.value_counts(_text_column(table, name).combine_chunks()).to_pylist()
            seen = [(-c["counts"], c["values"]) for c in counts if c["values"] is not None]
            levels[name] = sorted(value for _n, value in sorted(seen)[:MAX_LEVELS])
        return cls(columns=list(columns), levels=levels)

    @property
    def names(self) -> list[str]:
        """One name per matrix column: the column's, or `column=value` for a text value."""
        return [
            name
            for column in self.columns
            for name in (
                [f"{column}={value}" for value in self.levels[column]]
                if column in self.levels
                else [column]
            )
        ]

    @property
    def booster_names(self) -> list[str]:
        """`names` as LightGBM accepts them (special characters replaced, kept distinct)."""
        safe = [_UNSAFE_NAME.sub("_", name) for name in self.names]
        return [
            name if safe.count(name) == 1 else f"{name}_{index}" for index, name in enumerate(safe)
        ]

    def matrix(self, table: pa.Table) -> npt.NDArray[np.float32]:
        missing = [c for c in self.columns if c not in table.column_names]
        if missing:
            raise FeatureError("the table lacks the model's features: " + ", ".join(missing))
        blocks = []
        for column in self.columns:
            if column not in self.levels:
                blocks.append(to_matrix(table, [column]))
                continue
            if not is_text(table.schema.field(column).type):
                raise FeatureError(f"{column} was text when the model was fitted")
            levels = pa.array(self.levels[column], pa.string())
            # Each row's value as its position among the levels (null: unseen or empty).
            found = pc.index_in(_text_column(table, column), value_set=levels)
            at = np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.float64)
            block = np.zeros((table.num_rows, len(levels)), np.float32)
            known = ~np.isnan(at)
            block[np.flatnonzero(known), at[known].astype(np.intp)] = 1.0
            blocks.append(block)
        if not blocks:
            return np.empty((table.num_rows, 0), np.float32)
        return np.hstack(blocks)
