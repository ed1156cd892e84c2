"""The same pipeline on DuckDB and on Spark gives the same wide table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.conf import settings

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


def _campaign_results(subscribers: Path, directory: Path) -> list[Path]:
    """Results of three campaigns over every fifth subscriber, ending two months before the
    snapshot month, at its end and after it: arms, contacts and answers drawn by hash."""
    paths = []
    for campaign_id, ends in ((1, "2024-06-30"), (2, "2024-08-31"), (3, "2024-09-30")):
        path = directory / str(campaign_id) / "results.parquet"
        path.parent.mkdir(parents=True)
        duckdb.execute(
            f"""COPY (SELECT subscriber_id,
                        CASE WHEN h % 10 = 0 THEN 'control' ELSE 'treated' END AS "group",
                        h % 10 <> 0 AND h % 3 <> 0 AS contacted,
                        h % 7 = 0 AS responded, h % 10 <> 0 AND h % 5 = 1 AS refused,
                        {campaign_id}::BIGINT AS campaign_id, DATE '{ends}' AS window_end
                 FROM (SELECT subscriber_id, hash(subscriber_id, {campaign_id}) % 1000 AS h
                       FROM read_parquet('{subscribers}') WHERE hash(subscriber_id) % 5 = 0))
                TO '{path}' (FORMAT parquet)"""
        )
        paths.append(path)
    return paths


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

    # Given evaluated campaigns over some of its customers
    results = _campaign_results(operator["subscribers"], Path(settings.VAR_DIR) / "campaigns")

    # When the pipeline runs on both engines over the same generated operator
    on_duckdb = run_pipeline(
        month=MONTH, engine=Engine.DUCKDB, files=operator, campaign_results=results
    )
    on_spark = run_pipeline(
        month=MONTH, engine=Engine.SPARK, files=operator, campaign_results=results
    )

    # Then every row and column agrees, in the wide table and the off-net pool: counts
    # exactly, floats to 1e-9
    assert on_duckdb.rows > 1000
    [(contacted, refused, control)] = duckdb.sql(
        "SELECT sum(campaign_contacted_6m), sum(campaign_refused_6m), "
        f"count(*) FILTER (WHERE campaign_control_6m) FROM {on_duckdb.relation}"
    ).fetchall()
    assert min(contacted, refused, control) > 0
    wide = _differences(
        _rows(on_duckdb.relation, "subscriber_id"), _rows(on_spark.relation, "subscriber_id")
    )
    pool = _differences(
        _rows(on_duckdb.offnet_pool, "pool_rank"), _rows(on_spark.offnet_pool, "pool_rank")
    )
    assert wide == []
    assert pool == []
