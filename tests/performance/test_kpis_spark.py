"""The built-in KPIs give the same base values on Spark as on DuckDB (the small world)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from quanwang.performance.kpis.catalogue import get
from quanwang.performance.kpis.facts import open_fact_tables
from tests.performance import kpis_world as w
from tests.performance.test_kpis_catalogue import EXPECTED, _close
from tests.performance.test_kpis_catalogue import world as world

pytestmark = [pytest.mark.spark, pytest.mark.warehouse_only]


def test_spark_gives_the_same_base_values(world: Any) -> None:
    from quanwang.insight.choices import Engine
    from quanwang.insight.engines import EngineUnavailable, connect

    _duck, _tables = world
    try:
        spark = connect(Engine.SPARK)
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    extracts = {p.stem: p for p in (Path(settings.VAR_DIR) / "extracts").glob("*.parquet")}
    tables = open_fact_tables(spark, snapshot=None, extracts=extracts)
    for code in (
        "customers",
        "churn_rate",
        "broadband_penetration",
        "arpu",
        "incremental_takers",
        "visit_attainment",
        "new_5g_plans",
        "account_revenue",
    ):
        assert _close(w.values(spark, get(code), tables), EXPECTED[code]), code
