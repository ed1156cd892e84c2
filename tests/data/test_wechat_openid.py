"""subscribers.wechat_openid: optional, so older exports and older warehouses still load."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from quanwang.data.importer import import_file
from quanwang.data.schema import TABLES, Pii
from quanwang.data.warehouse import Warehouse

PLANS = (
    "plan_id,name,plan_type,monthly_fee,data_gb,voice_minutes,is_5g\n"
    "P1,5G畅享129,postpaid,129,30,500,是\n"
)
OLD_HEADER = "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id\n"
NEW_HEADER = "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id,wechat_openid\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _openids() -> list[tuple[str, str | None]]:
    relation = Warehouse().relation("subscribers")
    return duckdb.sql(f"SELECT subscriber_id, wechat_openid FROM {relation} ORDER BY 1").fetchall()


@pytest.fixture
def plans(db: None, tmp_path: Path) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))


def test_the_openid_is_an_optional_personal_data_column() -> None:
    column = TABLES["subscribers"].by_name["wechat_openid"]

    assert not column.required
    assert column.pii is Pii.OPENID


def test_an_export_without_the_openid_column_loads_with_no_openids(
    plans: None, tmp_path: Path
) -> None:
    # Given an older export: no wechat_openid column
    old = OLD_HEADER + "S1,13800000001,个人,prepaid,2020-01-05,active,P1\n"

    # When it is imported
    report = import_file(table_name="subscribers", path=_write(tmp_path, "old.csv", old))

    # Then it loads, and nobody has an openid
    assert report.loaded == 1
    assert _openids() == [("S1", None)]


def test_an_export_with_openids_loads_them(plans: None, tmp_path: Path) -> None:
    new = NEW_HEADER + (
        "S1,13800000001,个人,prepaid,2020-01-05,active,P1,oAbCdEfGhIjKlMnOpQrStUvWxYz0\n"
        "S2,13800000002,个人,prepaid,2020-01-05,active,P1,\n"
    )

    import_file(table_name="subscribers", path=_write(tmp_path, "new.csv", new))

    assert _openids() == [("S1", "oAbCdEfGhIjKlMnOpQrStUvWxYz0"), ("S2", None)]


def test_a_newer_extract_upserts_onto_a_table_stored_before_the_column_existed(
    plans: None, tmp_path: Path
) -> None:
    # Given a subscribers table stored by a version without the openid column
    base = OLD_HEADER + "S1,13800000001,个人,prepaid,2020-01-05,active,P1\n"
    import_file(table_name="subscribers", path=_write(tmp_path, "a.csv", base))
    stored = Warehouse().current_file("subscribers")
    assert stored is not None
    pq.write_table(pq.read_table(stored).drop_columns(["wechat_openid"]), stored)

    # When a newer extract with openids is upserted
    newer = (
        NEW_HEADER
        + "S2,13800000002,个人,prepaid,2021-01-05,active,P1,oS2openid000000000000000000x\n"
    )
    report = import_file(table_name="subscribers", path=_write(tmp_path, "b.csv", newer))

    # Then the old row is kept without an openid, the new one with its openid
    assert report.loaded == 1
    assert _openids() == [("S1", None), ("S2", "oS2openid000000000000000000x")]
