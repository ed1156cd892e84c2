"""Account features (enterprise.grading.features): the figures of a small world, the same on
DuckDB and Spark, kept and served by features_for, and per-member fields for campaigns."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from quanwang.enterprise.grading import kept
from quanwang.enterprise.grading.features import (
    account_features,
    empty_operations,
    features_for,
    member_account_fields,
)
from quanwang.enterprise.grading.regrading import regrade
from quanwang.insight.months import Month
from tests import factories
from tests.enterprise import factories as ent
from tests.enterprise.grading_world import MONTH, all_tables, place, world

JUNE = Month.parse(MONTH)


def _ops() -> pa.Table:
    return pa.table(
        {
            "enterprise_id": ["E1"],
            "care_12m": [2],
            "visits_12m": [3],
            "last_visit": pa.array([date(2024, 5, 1)], pa.date32()),
        }
    )


def _features() -> dict[str, dict[str, Any]]:
    store = place(world())
    computed = kept.compute(month=JUNE, operations=_ops(), store=store)
    return {r["enterprise_id"]: r for r in computed.features.to_pylist()}


def test_features_count_members_revenue_competitors_and_products() -> None:
    # given three enterprises (grading_world) when their June features are computed
    found = _features()
    e1, e2, e3 = found["E1"], found["E2"], found["E3"]
    # then members, churn, revenue and growth are counted from the members' lines
    assert (e1["members"], e1["members_on_net"], e1["churned_members"]) == (4, 3, 1)
    assert (e1["revenue_fen"], e1["before_fen"], e1["before_months"]) == (27_000, 120_000, 3)
    assert e1["revenue_growth"] == pytest.approx(27_000 / 40_000 - 1)
    # competitor contact is the share of minutes with other operators, now and before
    assert (e1["competitor_share"], e1["competitor_share_before"]) == (0.3, 0.1)
    # complaints in the month and over three months
    assert (e1["complaints"], e1["complaints_3m"]) == (1, 2)
    # products in force: an agreement, a bundle, 趸交 of 12 months' fees, a contract ending
    assert (e1["products_held"], e1["agreements"], e1["bundles"]) == (2, 1, 1)
    assert (e1["prepaid_fen"], e1["prepaid_months"], e1["contracts_ending"]) == (120_000, 12, 1)
    assert e1["nearest_contract_end"] == date(2024, 8, 15)
    assert e1["days_to_contract_end"] == (date(2024, 8, 15) - date(2024, 6, 30)).days
    # tenure runs from the first product's start
    assert e1["tenure_days"] == (date(2024, 6, 30) - date(2018, 1, 1)).days
    # an expired contract is no longer a product held
    assert e2["products_held"] == 0
    assert e2["members"] == 1
    # an enterprise without members has zeros, no growth, no tenure
    assert e3["members"] == 0
    assert e3["revenue_growth"] is None
    assert e3["tenure_days"] is None


def test_switching_cost_and_risk_are_weighted_sums_of_their_components() -> None:
    from quanwang.enterprise.grading.scoring import RISK_WEIGHTS, SWITCHING_WEIGHTS

    # given the features of E1
    e1 = _features()["E1"]
    # then each score is Σ points × weight / 100 of its components (one decimal)
    switching = sum(e1[f"sc_{c}"] * w for c, w in SWITCHING_WEIGHTS.items()) / 100
    risk = sum(e1[f"risk_{s}"] * w for s, w in RISK_WEIGHTS.items()) / 100
    assert e1["switching_cost"] == round(switching, 1)
    assert e1["churn_risk"] == round(risk, 1)
    assert sum(SWITCHING_WEIGHTS.values()) == sum(RISK_WEIGHTS.values()) == 100
    # and the components say why: all prepaid (12 months), half the lines under agreement
    assert (e1["sc_prepaid"], e1["sc_agreement"], e1["sc_care"]) == (100.0, 50.0, 50.0)
    # a quarter of members leaving, revenue down 32.5 %, competitors' share up 20 points
    assert e1["risk_members_leaving"] == e1["risk_revenue_falling"] == 100.0
    assert e1["risk_competitor_rising"] == 100.0


def _engine_rows(con: Any, directory: Path) -> list[dict[str, Any]]:
    tables = all_tables(con, directory, world())
    ops = ibis.memtable(_ops())
    expr = account_features(tables, month=JUNE, operations=ops)
    return con.to_pyarrow(expr).sort_by("enterprise_id").to_pylist()


@pytest.mark.spark
@pytest.mark.warehouse_only
def test_duckdb_and_spark_compute_the_same_features(tmp_path: Path) -> None:
    pytest.importorskip(
        "pyspark", reason="the spark extra is not installed: pip install '.[spark]'"
    )
    from quanwang.insight.choices import Engine
    from quanwang.insight.engines import connect

    # given the same world as Parquet on both engines
    (tmp_path / "d").mkdir()
    (tmp_path / "s").mkdir()
    # when the one features expression runs on each
    on_duckdb = _engine_rows(ibis.duckdb.connect(), tmp_path / "d")
    on_spark = _engine_rows(connect(Engine.SPARK), tmp_path / "s")
    # then every figure of every account is the same
    assert on_spark == on_duckdb
    assert len(on_duckdb) == 3


def test_an_empty_warehouse_table_gives_zero_features(tmp_path: Path) -> None:
    # given enterprises and nothing else
    tables = world()
    only = {"enterprises": tables["enterprises"]}
    con = ibis.duckdb.connect()
    files = all_tables(con, tmp_path, only)
    store_tables = kept.warehouse_tables(con, place(only)) | files
    # when the features are computed
    rows = con.to_pyarrow(
        account_features(store_tables, month=JUNE, operations=empty_operations())
    ).to_pylist()
    # then each enterprise has a row of zeros
    assert sorted(r["enterprise_id"] for r in rows) == ["E1", "E2", "E3"]
    assert all(r["members"] == 0 and r["revenue_fen"] == 0 for r in rows)


def test_features_for_serves_the_kept_month_with_components(tree: factories.Tree) -> None:
    # given the accounts of the world, graded for June
    place(world())
    for eid in ("E1", "E2"):
        ent.account(at=tree.grid_a, enterprise_id=eid)
    regrade(month=MONTH)
    # when a page asks for one account and for one that does not exist
    found = features_for(enterprise_ids=["E1", "NOPE"])
    # then it gets the account's figures, switching cost and risk, each component named
    assert list(found) == ["E1"]
    e1 = found["E1"]
    assert e1["month"] == MONTH
    assert e1["members"] == 4
    assert e1["grade"] in {"A", "B", "C"}
    assert e1["switching_components"]["prepaid"] == {"points": 100.0, "weight": 10, "value": 12.0}
    assert e1["risk_signals"]["contract_ending"]["value"] == 46
    assert features_for(enterprise_ids=["E2"], month="2023-01") == {}


def test_member_account_fields_joins_each_member_to_its_account(tree: factories.Tree) -> None:
    # given the world graded for June
    place(world())
    ent.account(at=tree.grid_a, enterprise_id="E1")
    regrade(month=MONTH)
    con = ibis.duckdb.connect()
    # when the campaign builder asks for the members' account fields
    rows = con.to_pyarrow(member_account_fields(con, month=MONTH)).to_pylist()
    # then each member carries its account's grade, industry, risk and contract end
    by_member = {r["subscriber_id"]: r for r in rows}
    assert set(by_member) == {"S1", "S2", "S3", "S4", "S5"}
    assert by_member["S1"]["enterprise_id"] == "E1"
    assert by_member["S1"]["industry"] == "物流"
    assert by_member["S1"]["nearest_contract_end"] == date(2024, 8, 15)
    assert set(by_member["S1"]) == {
        "subscriber_id",
        "enterprise_id",
        "grade",
        "industry",
        "churn_risk",
        "switching_cost",
        "nearest_contract_end",
    }


def test_regrade_with_tables_not_imported_grades_on_zeros(tree: factories.Tree) -> None:
    # given enterprises and usage but no members, contacts, complaints or products imported
    tables = world()
    place({k: tables[k] for k in ("enterprises", "monthly_usage", "subscribers")})
    ent.account(at=tree.grid_a, enterprise_id="E1")
    # when June is graded
    run = regrade(month=MONTH)
    # then every account is graded on zero members, and nothing else is kept as a month
    assert run.accounts == 1
    assert features_for(enterprise_ids=["E1"])["E1"]["members"] == 0
    path = kept.kept_path()
    assert path is not None
    assert path.name == f"{MONTH}.parquet"
