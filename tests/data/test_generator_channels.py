"""The synthetic operator's channel side: store owners and stages, coordinates in and out of the
grids, store traffic that adds up to store sales, and sale lines with refunds and reversals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import shapely

from quanwang.data.generator import GROUND_TRUTH, GeneratorConfig, generate
from quanwang.data.schema import TABLES

SUBSCRIBERS, MONTHS, SEED = 30_000, 4, 20240301


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("channels")
    generate(GeneratorConfig(subscribers=SUBSCRIBERS, months=MONTHS, seed=SEED), out)
    return out


@pytest.fixture(scope="module")
def con(operator: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in TABLES:
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM '{operator / name}.parquet'")
    for name in GROUND_TRUTH:
        con.sql(f"CREATE VIEW {name} AS SELECT * FROM '{operator}/ground_truth/{name}.parquet'")
    con.sql(f"CREATE VIEW staff AS SELECT * FROM '{operator}/extra/staff.parquet'")
    return con


def one(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    rows = con.sql(query).fetchall()
    assert len(rows) == 1
    return rows[0][0] if len(rows[0]) == 1 else rows[0]


# -- stores -------------------------------------------------------------------------------


def test_stores_have_an_owner_a_contact_number_and_an_opening_day(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Given the stores
    rows = con.sql("SELECT owner_name, contact_msisdn, opened_date FROM stores").fetchall()

    # Then each has a Chinese owner name, an 11-digit mobile number and opened before month 1
    for owner, contact, opened in rows:
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", owner)
        assert re.fullmatch(r"1[3589]\d{9}", contact)
        assert str(opened) < "2024-01-01"


def test_every_store_type_occurs_and_only_partners_have_a_stage(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Given the stores' types and stages
    types = {t for (t,) in con.sql("SELECT DISTINCT store_type FROM stores").fetchall()}
    stages = con.sql(
        "SELECT store_type = '自营厅' AS own, partner_stage, count(*) FROM stores GROUP BY ALL"
    ).fetchall()

    # Then all four types occur; own halls have no stage, every other store has one, all three
    # stages occur
    assert types == {"自营厅", "社会渠道", "代理商", "合作店"}
    assert {stage for own, stage, _ in stages if own} == {None}
    assert {stage for own, stage, _ in stages if not own} == {"拉郎配", "谈恋爱", "过日子"}


# -- coordinates --------------------------------------------------------------------------


def _placed(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int, int, int]:
    """(rows, without coordinates, inside their own grid, outside every grid)."""
    grids = {
        grid_id: shapely.from_wkt(wkt)
        for grid_id, wkt in con.sql("SELECT grid_id, boundary_wkt FROM grids").fetchall()
    }
    union = shapely.union_all(list(grids.values()))
    rows = con.sql(f"SELECT grid_id, lon, lat FROM {table}").fetchall()
    located = [(grids[g], shapely.Point(lon, lat)) for g, lon, lat in rows if lat is not None]
    inside = sum(1 for polygon, point in located if polygon.contains(point))
    outside = sum(1 for _, point in located if not union.contains(point))
    assert inside + outside == len(located)
    return len(rows), len(rows) - len(located), inside, outside


@pytest.mark.parametrize("table", ["subscribers", "enterprises", "stores"])
def test_coordinates_lie_in_their_grid_or_outside_every_grid(
    con: duckdb.DuckDBPyConnection, table: str
) -> None:
    # Given the rows of a table with coordinates
    rows, missing, inside, outside = _placed(con, table)

    # Then each point is in its own grid's polygon, or outside every grid
    assert missing + inside + outside == rows
    if table == "stores":
        assert missing == outside == 0
    else:
        # and about 15% have none, about 1% lie outside every grid
        assert 0.12 < missing / rows < 0.18
        assert outside >= 1
        assert outside / rows < 0.03


# -- store traffic ------------------------------------------------------------------------


def test_traffic_revenue_and_referred_revenue_add_up_to_store_sales_to_the_fen(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Given each store's traffic and sales of a month
    rows, mismatched = one(
        con,
        "SELECT count(*), count(*) FILTER (WHERE round((t.revenue + t.referred_revenue) * 100)"
        " <> round(s.revenue * 100)) FROM store_traffic t FULL JOIN ("
        "  SELECT store_id, month, sum(revenue) AS revenue FROM store_sales GROUP BY ALL"
        ") s USING (store_id, month)",
    )

    # Then there is one traffic row per store and month, and its revenue is the sales' revenue
    assert rows == one(con, "SELECT count(*) FROM stores") * MONTHS
    assert mismatched == 0


def test_the_funnel_counts_nest(con: duckdb.DuckDBPyConnection) -> None:
    # Given the traffic rows
    # Then buyers ≤ visitors, transactions ≥ buyers, and revenue only where there are buyers
    broken = one(
        con,
        "SELECT count(*) FROM store_traffic WHERE buyers > footfall "
        "OR referred_buyers > referrals OR transactions < buyers "
        "OR referred_transactions < referred_buyers "
        "OR (buyers = 0) <> (transactions = 0) OR (transactions = 0 AND revenue <> 0) "
        "OR (referred_transactions = 0 AND referred_revenue <> 0)",
    )
    assert broken == 0


def test_observed_conversion_follows_the_true_conversion(con: duckdb.DuckDBPyConnection) -> None:
    # Given the observed walk-in conversion and the ground truth's
    observed, true, correlation = one(
        con,
        "SELECT sum(t.buyers) / sum(t.footfall), avg(g.conversion), "
        "corr(t.buyers / t.footfall, g.conversion) FROM store_traffic t "
        "JOIN store_funnel g USING (store_id, month) WHERE t.footfall >= 50",
    )

    # Then they agree on the level and move together
    assert 0.15 < observed < 0.40
    assert abs(observed - true) < 0.06
    assert correlation > 0.5


# -- sale lines ---------------------------------------------------------------------------


def test_sale_lines_are_store_sales_units_and_revenue(con: duckdb.DuckDBPyConnection) -> None:
    # Given the sales lines per store, month and product
    mismatched = one(
        con,
        "SELECT count(*) FROM store_sales s FULL JOIN ("
        "  SELECT store_id, strftime(sale_date, '%Y-%m') AS month, product, count(*) AS units,"
        "  sum(amount) AS revenue FROM channel_sales WHERE kind = '销售' GROUP BY ALL"
        ") l USING (store_id, month, product) "
        "WHERE coalesce(s.units, 0) <> coalesce(l.units, 0) "
        "OR round(coalesce(s.revenue, 0) * 100) <> round(coalesce(l.revenue, 0) * 100)",
    )

    # Then their count is the units sold and their amounts add up to the revenue
    assert mismatched == 0


def test_refunds_and_reversals_undo_an_existing_sale_in_full(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Given the refund and reversal lines
    kinds = dict(con.sql("SELECT kind, count(*) FROM channel_sales GROUP BY 1").fetchall())
    broken = one(
        con,
        "SELECT count(*) FROM channel_sales u LEFT JOIN channel_sales o "
        "ON o.sale_id = u.original_sale_id WHERE u.kind <> '销售' AND ("
        "o.sale_id IS NULL OR o.kind <> '销售' OR u.amount <> -o.amount "
        "OR u.store_id <> o.store_id OR u.product <> o.product "
        "OR u.subscriber_id IS DISTINCT FROM o.subscriber_id OR u.sale_date < o.sale_date "
        "OR (u.kind = '冲正' AND u.sale_date <> o.sale_date))",
    )
    undone_twice = one(
        con,
        "SELECT count(*) FROM (SELECT original_sale_id FROM channel_sales "
        "WHERE original_sale_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1)",
    )

    # Then there are a few of each, each names a sale of the same store, product and
    # customer, undoes its whole amount, on its day or later, and no sale is undone twice
    sales = kinds["销售"]
    assert 0.005 < kinds["退款"] / sales < 0.03
    assert 0.002 < kinds["冲正"] / sales < 0.02
    assert broken == 0
    assert undone_twice == 0
    assert one(con, "SELECT count(*) FROM channel_sales WHERE kind = '销售' AND amount <= 0") == 0
    assert (
        one(
            con,
            "SELECT count(*) FROM channel_sales WHERE kind = '销售' "
            "AND original_sale_id IS NOT NULL",
        )
        == 0
    )


def test_store_joiners_have_a_card_line_at_their_store_on_their_joining_day(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Given the subscribers who joined during the months through a store channel
    joined, with_line = one(
        con,
        "SELECT count(*), count(l.sale_id) FROM subscribers s LEFT JOIN channel_sales l "
        "ON l.subscriber_id = s.subscriber_id AND l.product = '号卡' AND l.kind = '销售' "
        "AND l.sale_date = s.join_date AND l.plan_id = s.plan_id "
        "WHERE s.join_date >= DATE '2024-01-01' "
        "AND s.acquisition_channel IN ('营业厅', '社会渠道')",
    )

    # Then each has exactly one 号卡 line, on the day they joined, for their plan
    assert joined > 0
    assert with_line == joined


def test_plan_lines_name_a_plan_of_their_kind(con: duckdb.DuckDBPyConnection) -> None:
    # Given the plan products' lines
    wrong = one(
        con,
        "SELECT count(*) FROM channel_sales l JOIN plans p USING (plan_id) WHERE "
        "(l.product = '5G套餐' AND NOT p.is_5g) OR (l.product = '宽带' AND p.plan_type <> "
        "'broadband') OR (l.product = '融合套餐' AND p.plan_type <> 'bundle')",
    )
    planless = one(
        con,
        "SELECT count(*) FROM channel_sales WHERE plan_id IS NULL "
        "AND product IN ('号卡', '5G套餐', '宽带', '融合套餐')",
    )
    holder_plan_differs = one(
        con,
        "SELECT count(*) FROM channel_sales l JOIN subscribers s USING (subscriber_id) "
        "WHERE l.plan_id <> s.plan_id",
    )
    with_customer = one(
        con, "SELECT count(subscriber_id) / count(*) FROM channel_sales WHERE product = '5G套餐'"
    )

    # Then each names a plan of its kind, the customer's own, and most name the customer
    assert wrong == planless == holder_plan_differs == 0
    assert with_customer > 0.8
    assert one(con, "SELECT count(plan_id) FROM channel_sales WHERE product = '终端'") == 0


def test_no_line_is_dated_after_the_last_month(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT max(sale_date) FROM channel_sales").isoformat() <= "2024-04-30"


# -- personal data ------------------------------------------------------------------------


def test_personal_data_stays_in_the_pii_columns(con: duckdb.DuckDBPyConnection) -> None:
    # Given every personal value (names, numbers, ids) the canonical tables hold
    personal: set[str] = set()
    for name, table in TABLES.items():
        for column in table.columns:
            if column.pii is not None:
                personal |= {
                    value
                    for (value,) in con.sql(
                        f"SELECT DISTINCT {column.name} FROM {name} WHERE {column.name} IS NOT NULL"
                    ).fetchall()
                }
    # Then no other text column holds one, nor a phone number inside a longer text
    pattern = re.compile(r"(?<![0-9A-Za-z])1[3589]\d{9}(?![0-9A-Za-z])")
    for name, table in TABLES.items():
        for column in table.columns:
            if column.pii is not None or column.type != "string":
                continue
            values = {
                value
                for (value,) in con.sql(
                    f"SELECT DISTINCT {column.name} FROM {name} WHERE {column.name} IS NOT NULL"
                ).fetchall()
            }
            assert not (values & personal), f"{name}.{column.name}"
            assert not any(pattern.search(value) for value in values), f"{name}.{column.name}"


# -- through the importer -------------------------------------------------------------------


def test_the_channel_tables_pass_the_importers_checks(operator: Path, db: None) -> None:
    # Given the generated tables a store's figures rest on
    from quanwang.data.importer import import_file

    # When they are imported in order, as the demo does
    reports = {
        name: import_file(table_name=name, path=operator / f"{name}.parquet")
        for name in (
            "plans",
            "grids",
            "enterprises",
            "stores",
            "subscribers",
            "store_sales",
            "store_traffic",
            "channel_sales",
        )
    }

    # Then every row of every table is loaded, none quarantined
    for name, report in reports.items():
        assert report.quarantined == 0, (name, report.by_reason)
        assert report.loaded == report.rows_read, name
