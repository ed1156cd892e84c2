"""Running the pipeline: bad input, snapshots, engines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.utils import translation

from quanwang.insight.choices import Engine
from quanwang.insight.engines import EngineUnavailable, connect
from quanwang.insight.pipeline import PipelineError, run_pipeline
from quanwang.insight.snapshots import SnapshotStore
from tests import factories
from tests.insight.conftest import PLANS, subscriber, usage_rows


def _files(tmp_path: Path) -> dict[str, Path]:
    return factories.canonical_files(
        tmp_path,
        plans=PLANS,
        subscribers=[subscriber("A")],
        monthly_usage=usage_rows("A", {"2024-04": 10, "2024-05": 20}),
    )


def test_a_month_without_usage_is_refused_naming_the_months_held(tmp_path: Path) -> None:
    with (
        translation.override("en"),
        pytest.raises(
            PipelineError, match=r"no rows for 2024-06 \(months held: 2024-04 … 2024-05\)"
        ),
    ):
        run_pipeline(month="2024-06", files=_files(tmp_path))

    assert SnapshotStore().list() == []


def test_a_month_that_is_not_a_month_is_refused(tmp_path: Path) -> None:
    with translation.override("en"), pytest.raises(PipelineError, match="write it like 2024-06"):
        run_pipeline(month="2024-13", files=_files(tmp_path))


def test_an_empty_warehouse_names_the_tables_to_import() -> None:
    with (
        translation.override("en"),
        pytest.raises(PipelineError, match="no subscribers, plans, monthly_usage yet"),
    ):
        run_pipeline(month="2024-06")


def test_spark_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a Python where pyspark cannot be imported
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)

    # When the Spark engine is asked for, the error is one line with the install command
    with pytest.raises(EngineUnavailable) as caught:
        connect(Engine.SPARK)
    assert "pip install 'quanwang[spark]'" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_newest_complete_snapshot_is_the_one_read(tmp_path: Path) -> None:
    # Given snapshots of April and May, and a May run that never finished
    files = _files(tmp_path)
    run_pipeline(month="2024-04", files=files)
    may = run_pipeline(month="2024-05", files=files)
    SnapshotStore().begin("2024-05")

    # Then the latest is the finished May run, and both finished runs are listed
    store = SnapshotStore()
    latest = store.latest()
    assert latest is not None
    assert latest.run_id == may.run_id
    assert [s.month for s in store.list()] == ["2024-05", "2024-04"]
