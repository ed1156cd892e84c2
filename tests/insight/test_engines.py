"""The same pipeline on DuckDB and on Spark gives the same wide table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pytest

from quanwang.data.generator import GeneratorConfig, generate
from quanwang.insight.choices import Engine
from quanwang.insight.pipeline import run_pipeline

pytestmark = [pytest.mark.spark, pytest.mark.warehouse_only]
MONTH = "2024-08"


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("operator")
    generate(GeneratorConfig(subscribers=1500, months=8, seed=11), out)
    return {p.stem: p for p in out.glob("*.parquet")}


def _rows(relation_sql: str, key: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    relation = duckdb.sql(f"SELECT * FROM {relation_sql} ORDER BY {key}")
    return relation.columns, relation.fetchall()


def _differences(
    expected: tuple[list[str], list[tuple[Any, ...]]],
    actual: tuple[list[str], list[tuple[Any, ...]]],
) -> list[tuple[Any, ...]]:
    columns, rows = expected
    other_columns, other_rows = actual
    assert sorted(other_columns) == sorted(columns)
    assert len(other_rows) == len(rows)
    order = [other_columns.index(c) for c in columns]
    return [
        (row[0], name, value, other[i])
        for row, other in zip(rows, ([r[i] for i in order] for r in other_rows), strict=True)
        for i, (name, value) in enumerate(zip(columns, row, strict=True))
        if not _same(value, other[i])
    ]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def test_duckdb_and_spark_give_the_same_snapshot(operator: dict[str, Path]) -> None:
    pytest.importorskip(
        "pyspark", reason="the spark extra is not installed: pip install '.[spark]'"
    )

    # When the pipeline runs on both engines over the same generated operator
    on_duckdb = run_pipeline(month=MONTH, engine=Engine.DUCKDB, files=operator)
    on_spark = run_pipeline(month=MONTH, engine=Engine.SPARK, files=operator)

    # Then every row and column agrees, in the wide table and the off-net pool: counts
    # exactly, floats to 1e-9
    assert on_duckdb.rows > 1000
    wide = _differences(
        _rows(on_duckdb.relation, "subscriber_id"), _rows(on_spark.relation, "subscriber_id")
    )
    pool = _differences(
        _rows(on_duckdb.offnet_pool, "pool_rank"), _rows(on_spark.offnet_pool, "pool_rank")
    )
    assert wide == []
    assert pool == []
