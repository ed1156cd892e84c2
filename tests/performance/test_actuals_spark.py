"""The actuals computed on Spark equal those computed on DuckDB (one world, both engines)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from quanwang.performance.actuals import store
from quanwang.performance.actuals.compute import compute
from tests import factories
from tests.performance.actuals_world import standard

AS_OF = dt.date(2024, 12, 20)


def _values(version: store.ActualsVersion) -> list[tuple[object, ...]]:
    rows = pq.read_table(version.values_path).to_pylist()
    names = ("kpi", "grain", "key", "org_unit", "period", "numerator", "denominator", "value")
    return sorted(tuple(r[n] for n in names) for r in rows)


@pytest.mark.spark
@pytest.mark.warehouse_only
def test_duckdb_and_spark_compute_alike(tree: factories.Tree, tmp_path: Path) -> None:
    pytest.importorskip(
        "pyspark", reason="the spark extra is not installed: pip install '.[spark]'"
    )
    from quanwang.insight.engines import EngineUnavailable

    # given one world
    world = standard(tmp_path / "facts")
    on_duckdb = _values(compute(as_of=AS_OF, engine="duckdb", inputs=world.inputs()))
    # when it is computed on Spark too
    try:
        on_spark = _values(compute(as_of=AS_OF, engine="spark", full=True, inputs=world.inputs()))
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    # then the figures are the same
    assert len(on_spark) == len(on_duckdb)
    for x, y in zip(on_spark, on_duckdb, strict=True):
        assert x[:5] == y[:5]
        for a, b in zip(x[5:], y[5:], strict=True):
            assert (a is None and b is None) or a == pytest.approx(b)
