"""The synthetic operator's enterprise accounts: a hierarchy of at most three levels with no
cycle, valid credit codes, products with contracts ending over the next two years, orders
within the data's months, and all of it importing without a quarantined row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.data.credit_codes import is_valid
from quanwang.data.generator import GENERATOR_VERSION, GeneratorConfig, generate
from quanwang.data.generator._accounts import hierarchy
from quanwang.data.importer import import_file
from quanwang.data.schema import ENTERPRISE_PRODUCTS, ORDER_KINDS, ORDER_STATUSES

SUBSCRIBERS, MONTHS, SEED = 30_000, 4, 17
LAST_DAY = "DATE '2024-04-30'"  # the last generated day (start 2024-01, 4 months)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate(GeneratorConfig(subscribers=SUBSCRIBERS, months=MONTHS, seed=SEED), out)
    return out


@pytest.fixture(scope="module")
def sql(world: Path) -> Any:
    con = duckdb.connect()
    for name in ("enterprises", "enterprise_products", "enterprise_orders", "enterprise_members"):
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM '{world / name}.parquet'")

    def one(query: str) -> Any:
        row = con.sql(query).fetchall()[0]
        return row[0] if len(row) == 1 else row

    return one


def test_the_generator_version_is_1_4_0() -> None:
    assert GENERATOR_VERSION == "1.4.0"


def test_about_one_enterprise_in_eight_is_a_branch_of_a_group(sql: Any) -> None:
    share = sql("SELECT avg((parent_enterprise_id IS NOT NULL)::INT) FROM enterprises")

    assert 0.08 <= share <= 0.17


def test_the_hierarchy_has_no_cycle_and_at_most_three_levels(sql: Any) -> None:
    # When each enterprise's chain of parents is followed to its top
    deepest = sql(
        "WITH RECURSIVE up(id, parent, depth) AS ("
        " SELECT enterprise_id, parent_enterprise_id, 1 FROM enterprises"
        " UNION ALL SELECT u.id, e.parent_enterprise_id, u.depth + 1 FROM up u"
        " JOIN enterprises e ON e.enterprise_id = u.parent WHERE u.depth < 10)"
        " SELECT max(depth) FROM up"
    )

    # Then every chain ends within three levels (a cycle would run to the bound)
    assert deepest <= 3
    # And a branch shares its group's industry
    assert (
        sql(
            "SELECT count(*) FROM enterprises b JOIN enterprises p "
            "ON p.enterprise_id = b.parent_enterprise_id WHERE p.industry <> b.industry"
        )
        == 0
    )


def test_credit_codes_are_valid_and_distinct_and_status_is_mostly_in_business(sql: Any) -> None:
    total, with_code, distinct, normal = sql(
        "SELECT count(*), count(credit_code), count(DISTINCT credit_code), "
        "avg((status = '正常')::INT) FROM enterprises"
    )
    assert with_code == distinct
    assert with_code > 0.9 * total
    assert 0.85 <= normal < 1.0
    bad = sql(
        "SELECT count(*) FROM enterprises WHERE credit_code IS NOT NULL AND "
        "NOT regexp_full_match(credit_code, '[0-9A-HJ-NPQRTUWXY]{18}')"
    )
    assert bad == 0


def test_every_generated_code_has_its_check_character(world: Path) -> None:
    codes = duckdb.sql(
        f"SELECT credit_code FROM '{world}/enterprises.parquet' WHERE credit_code IS NOT NULL"
    ).fetchall()

    assert all(is_valid(code) for (code,) in codes)


def test_products_have_contracts_after_their_start_over_the_next_two_years(sql: Any) -> None:
    rows, products, after_start, soon, beyond, agreement, bundled, prepaid = sql(
        "SELECT count(*), count(DISTINCT product), "
        "avg((contract_end > start_date)::INT) FILTER (contract_end IS NOT NULL), "
        f"avg((contract_end <= {LAST_DAY} + INTERVAL 3 MONTH)::INT), "
        f"count(*) FILTER (contract_end > {LAST_DAY} + INTERVAL 25 MONTH), "
        "avg(agreement::INT), avg(bundled::INT), avg((prepaid > 0)::INT) "
        "FROM enterprise_products"
    )
    assert rows > 0
    assert products == len(ENTERPRISE_PRODUCTS)
    assert after_start == 1.0
    # Some end within 3 months of the data's last day, none past two years
    assert 0.05 <= soon <= 0.3
    assert beyond == 0
    assert 0.4 <= agreement <= 0.8
    assert 0.1 <= bundled <= 0.35
    assert 0.03 <= prepaid <= 0.2
    # Contract end only with an agreement
    assert sql("SELECT count(*) FROM enterprise_products WHERE NOT agreement AND "
               "contract_end IS NOT NULL") == 0  # fmt: skip


def test_larger_enterprises_hold_more_products(sql: Any) -> None:
    small, large = sql(
        "SELECT avg(n) FILTER (size < 20), avg(n) FILTER (size >= 200) FROM ("
        " SELECT e.size, count(p.product) AS n FROM enterprises e"
        " LEFT JOIN enterprise_products p USING (enterprise_id) GROUP BY e.enterprise_id, e.size)"
    )

    assert large > small


def test_orders_lie_in_the_datas_months_with_consistent_statuses(sql: Any) -> None:
    early, late, closed_before, open_closed, kinds, statuses = sql(
        "SELECT min(created_date), max(created_date), "
        "count(*) FILTER (closed_date < created_date), "
        "count(*) FILTER (status IN ('受理中', '处理中') AND closed_date IS NOT NULL), "
        "count(DISTINCT kind), count(DISTINCT status) FROM enterprise_orders"
    )
    assert str(early) >= "2024-01-01"
    assert str(late) <= "2024-04-30"
    assert closed_before == 0
    assert open_closed == 0
    assert kinds == len(ORDER_KINDS)
    assert statuses == len(ORDER_STATUSES)
    # A fault or change names a product the account holds
    assert (
        sql(
            "SELECT count(*) FROM enterprise_orders o WHERE kind IN ('故障', '变更', '拆机') AND "
            "NOT EXISTS (SELECT 1 FROM enterprise_products p "
            "WHERE p.enterprise_id = o.enterprise_id AND p.product = o.product)"
        )
        == 0
    )


def test_every_member_belongs_to_one_enterprise(sql: Any) -> None:
    assert sql("SELECT count(*) - count(DISTINCT subscriber_id) FROM enterprise_members") == 0


def test_the_enterprise_tables_import_without_a_quarantined_row(db: None, world: Path) -> None:
    reports = [
        import_file(table_name=name, path=world / f"{name}.parquet")
        for name in ("grids", "enterprises", "enterprise_products", "enterprise_orders")
    ]

    assert [r.quarantined for r in reports] == [0, 0, 0, 0]
    assert all(r.loaded > 0 for r in reports)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 50_000), min_size=1, max_size=400),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_the_drawn_hierarchy_is_a_forest_of_at_most_three_levels(
    sizes: list[int], seed: int
) -> None:
    # Given any enterprises' sizes
    size = np.array(sizes, dtype=np.int64)

    # When a hierarchy is drawn
    parent, level = hierarchy(np.random.default_rng(seed), size)

    # Then each parent sits one level above its child and is never itself (so no cycle)
    has = parent >= 0
    assert (level[has] == level[parent[has]] + 1).all()
    assert (level[~has] == 1).all()
    assert level.max() <= 3
    assert (parent[has] != np.flatnonzero(has)).all()


def test_the_enterprise_churn_ground_truth_covers_every_account(world: Path) -> None:
    truth = f"'{world}/ground_truth/enterprise_churn.parquet'"
    members = f"'{world}/enterprise_members.parquet'"
    accounts, covered, expected_ok, hazard_ok, active = duckdb.sql(
        f"SELECT count(*), count(DISTINCT enterprise_id), "
        "bool_and(expected_leavers_next_month <= members), "
        "bool_and(mean_member_hazard_next_month BETWEEN 0 AND 1 OR members = 0), sum(members) "
        f"FROM {truth}"
    ).fetchall()[0]

    assert accounts == covered == SUBSCRIBERS // 100
    assert expected_ok
    assert hazard_ok
    assert 0 < active <= duckdb.sql(f"SELECT count(*) FROM {members}").fetchall()[0][0]
