"""Large tables are committed range by range: the same file order as one sort, the same upserts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from quanwang.data.importer import import_file
from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse

USAGE_HEADER = "subscriber_id,month,arpu\n"


def _usage_rows(where: str) -> str:
    # 40 subscribers x 3 months, listed month by month as exports usually are; ids that sort
    # apart from their numbers (S10 before S2), and one row a month without a subscriber.
    return (
        "SELECT * FROM (SELECT CASE WHEN i IN (5, 45, 85) THEN NULL ELSE 'S' || (i % 40) END "
        "AS subscriber_id, '2024-0' || (1 + i // 40) AS month, i * 1.5 AS arpu, "
        "NULL::DOUBLE AS mou, NULL::DOUBLE AS dou_gb, NULL::DOUBLE AS onnet_minutes, "
        "NULL::DOUBLE AS offnet_minutes, NULL::DOUBLE AS overage_fee, NULL::DOUBLE AS arrears, "
        "NULL::BOOLEAN AS used_5g_network, NULL::DOUBLE AS plan_saturation "
        f"FROM range(120) t(i)) WHERE {where}"
    )


def _file_rows(store: Warehouse, table: str) -> list[tuple[object, ...]]:
    current = store.current_file(table)
    assert current is not None
    return [tuple(row.values()) for row in pq.read_table(current).to_pylist()]


def test_a_table_written_range_by_range_is_in_the_order_of_one_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given ranges of ten rows, so that 120 rows are sorted in twelve pieces
    monkeypatch.setattr("quanwang.data.warehouse.RANGE_ROWS", 10)
    store = Warehouse(tmp_path / "wh")

    # When the table is committed
    store.commit(
        con=duckdb.connect(), table=TABLES["monthly_usage"], select_where=_usage_rows, rows=120
    )

    # Then the file holds every row, in the order one sort by subscriber and month gives
    expected = duckdb.sql(
        f"SELECT * FROM ({_usage_rows('true')}) ORDER BY subscriber_id, month"
    ).fetchall()
    assert _file_rows(store, "monthly_usage") == expected


def test_a_range_that_fails_leaves_the_table_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a committed table, and a next version whose later rows cannot be computed
    monkeypatch.setattr("quanwang.data.warehouse.RANGE_ROWS", 10)
    store = Warehouse(tmp_path / "wh")
    table = TABLES["monthly_usage"]
    first = store.commit(con=duckdb.connect(), table=table, select_where=_usage_rows, rows=120)

    def failing(where: str) -> str:
        return (
            "SELECT * REPLACE (CAST(CASE WHEN subscriber_id > 'S5' THEN 'x' ELSE '1' END "
            f"AS DOUBLE) AS arpu) FROM ({_usage_rows(where)})"
        )

    # When it is committed
    with pytest.raises(duckdb.Error):
        store.commit(con=duckdb.connect(), table=table, select_where=failing, rows=120)

    # Then the first version is still the current one, and no half-written version is left
    assert store.current_file("monthly_usage") == store.root / "monthly_usage" / first / (
        "data.parquet"
    )
    assert not list((store.root / "monthly_usage").glob(".v*"))


def test_an_upsert_committed_range_by_range_replaces_rows_by_key(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given ranges of three rows, 30 subscribers and their usage for two months
    monkeypatch.setattr("quanwang.data.warehouse.RANGE_ROWS", 3)
    plans = tmp_path / "plans.csv"
    plans.write_text(
        "plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G,postpaid,129,是\n", encoding="utf-8"
    )
    import_file(table_name="plans", path=plans)
    subscribers = tmp_path / "subscribers.csv"
    subscribers.write_text(
        "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id\n"
        + "".join(f"S{i},138{i:08d},个人,postpaid,2020-01-05,active,P1\n" for i in range(30)),
        encoding="utf-8",
    )
    import_file(table_name="subscribers", path=subscribers)
    first = tmp_path / "usage1.csv"
    first.write_text(
        USAGE_HEADER
        + "".join(f"S{i},{month},10\n" for month in ("2024-01", "2024-02") for i in range(30)),
        encoding="utf-8",
    )
    import_file(table_name="monthly_usage", path=first)

    # When a newer extract restates February for the even subscribers and adds March
    newer = tmp_path / "usage2.csv"
    newer.write_text(
        USAGE_HEADER
        + "".join(f"S{i},2024-02,20\n" for i in range(0, 30, 2))
        + "".join(f"S{i},2024-03,30\n" for i in range(30)),
        encoding="utf-8",
    )
    report = import_file(table_name="monthly_usage", path=newer)

    # Then each key is held once, with the newer amount where the extract restated it
    assert report.loaded == 45
    rows = _file_rows(Warehouse(), "monthly_usage")
    assert len(rows) == 90
    amounts = {(r[0], r[1]): r[2] for r in rows}
    assert amounts[("S4", "2024-02")] == 20
    assert amounts[("S5", "2024-02")] == 10
    assert amounts[("S7", "2024-01")] == 10
    assert amounts[("S7", "2024-03")] == 30
    assert [(r[0], r[1]) for r in rows] == sorted((r[0], r[1]) for r in rows)
