"""The enterprise tables as operators import them: the new enterprises columns (hierarchy,
credit code, status), enterprise_products and enterprise_orders from GBK CSV and XLSX under
CRM header names, and bad input named by file, row and column with nothing of it loaded."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import translation
from openpyxl import Workbook

from quanwang.data.importer import ImportFailed, import_file
from quanwang.data.warehouse import Warehouse

GRIDS = "grid_id,name,grid_type,county_code\nG1,一号,行业,C1\n"
# 91350100M000100Y43 is a published example; the others are built with its check rule.
GOOD_CODE, OTHER_CODE = "91350100M000100Y43", "91440106700000000A"


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(text.strip().splitlines()))


def _csv(tmp_path: Path, name: str, text: str, encoding: str = "gbk") -> Path:
    path = tmp_path / name
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(_rows(text))
    return path


def _xlsx(tmp_path: Path, name: str, text: str) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "客户"
    for row in _rows(text):
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def _load(table: str, path: Path, **extra: Any) -> Any:
    return import_file(table_name=table, path=path, **extra)


def _stored(table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    relation = Warehouse().relation(table)
    return duckdb.sql(f"SELECT {columns} FROM {relation} ORDER BY ALL").fetchall()


def _quarantined(report: Any) -> list[tuple[str, str, str, str, str]]:
    with open(report.quarantine_file, encoding="utf-8-sig") as handle:
        return [
            (r["file"], r["row"], r["column"], r["value"], r["reason_code"])
            for r in csv.DictReader(handle)
        ]


@pytest.fixture
def grids(db: None, tmp_path: Path) -> None:
    _load("grids", _csv(tmp_path, "grids.csv", GRIDS))


@pytest.fixture
def enterprises(grids: None, tmp_path: Path) -> None:
    """E1 a 集团 with the branch E2, and E3 on its own."""
    _load(
        "enterprises",
        _csv(
            tmp_path,
            "seed.csv",
            "集团编码,集团名称,行业,网格编码,上级集团编码\n"
            "E1,甲集团,物流运输,G1,\nE2,甲集团天河分公司,物流运输,G1,E1\nE3,乙公司,金融,G1,\n",
        ),
    )


def test_a_gbk_crm_export_of_enterprises_loads_with_its_hierarchy_code_and_status(
    grids: None, tmp_path: Path
) -> None:
    # Given a GBK export under CRM headers (客户编码, 所属集团编码, 信用代码), whose branch
    # names a parent later in the same file, a code in lower case with spaces
    path = _csv(
        tmp_path,
        "集团客户.csv",
        "客户编码,客户名称,行业,网格编码,所属集团编码,信用代码,经营状态\n"
        "E2,甲集团天河分公司,物流运输,G1,E1,91350100m000100y43 ,正常\n"
        "E3,甲集团天河营业部,物流运输,G1,E2,,停业\n"
        "E1,甲集团,物流运输,G1,,91440106700000000A,正常\n",
    )

    # When it is imported
    report = _load("enterprises", path, encoding="gbk")

    # Then every row loads, the parents resolved within the file and the code normalised
    assert (report.loaded, report.quarantined) == (3, 0)
    assert _stored("enterprises", "enterprise_id, parent_enterprise_id, credit_code, status") == [
        ("E1", None, OTHER_CODE, "正常"),
        ("E2", "E1", GOOD_CODE, "正常"),
        ("E3", "E2", None, "停业"),
    ]


def test_an_older_export_without_the_new_columns_imports_and_keeps_stored_values(
    enterprises: None, tmp_path: Path
) -> None:
    # Given stored enterprises with a hierarchy, and an older extract without the columns
    path = _csv(tmp_path, "old.csv", "集团编码,集团名称,行业,网格编码\nE2,甲集团新名,物流运输,G1\n")

    # When it is imported
    report = _load("enterprises", path)

    # Then it loads and the branch keeps its parent
    assert report.loaded == 1
    assert ("E2", "甲集团新名", "E1") in _stored(
        "enterprises", "enterprise_id, name, parent_enterprise_id"
    )


def test_a_cycle_in_a_file_is_refused_naming_file_row_and_column_and_nothing_loads(
    grids: None, tmp_path: Path
) -> None:
    # Given a file whose three enterprises are each other's parents, in a ring
    path = _csv(
        tmp_path,
        "ring.csv",
        "集团编码,集团名称,行业,上级集团编码\nE0,独立,制造业,\nE4,丁,制造业,E5\n"
        "E5,戊,制造业,E6\nE6,己,制造业,E4\n",
    )

    # When it is imported
    with translation.override("en"), pytest.raises(ImportFailed) as refused:
        _load("enterprises", path)

    # Then the message names the file, the first row on the cycle, the column and the cycle
    assert str(refused.value).startswith(
        "ring.csv: row 3, column parent_enterprise_id (上级集团编码): "
    )
    assert "E4 → E5 → E6 → E4" in str(refused.value)
    # And nothing was loaded, not even the enterprise outside the cycle
    assert _stored("enterprises") == []


def test_an_enterprise_that_is_its_own_parent_is_a_cycle(grids: None, tmp_path: Path) -> None:
    path = _csv(tmp_path, "self.csv", "集团编码,集团名称,行业,上级集团编码\nE7,庚,制造业,E7\n")

    with translation.override("en"), pytest.raises(ImportFailed, match=r"row 2.*E7 → E7"):
        _load("enterprises", path)


def test_an_upsert_that_closes_a_cycle_with_stored_rows_is_refused(
    enterprises: None, tmp_path: Path
) -> None:
    # Given the stored 集团 E1 with its branch E2, and an extract making E1 a branch of E2
    before = _stored("enterprises")
    path = _xlsx(
        tmp_path, "调整.xlsx", "集团编码,集团名称,行业,上级集团编码\nE1,甲集团,物流运输,E2\n"
    )

    # When it is imported
    with translation.override("en"), pytest.raises(ImportFailed) as refused:
        _load("enterprises", path)

    # Then the workbook's sheet and row are named, and the stored table is unchanged
    assert str(refused.value).startswith("调整.xlsx:客户: row 2, column parent_enterprise_id")
    assert "E1 → E2 → E1" in str(refused.value)
    assert _stored("enterprises") == before


def test_a_bad_credit_code_is_quarantined_by_row_and_column_and_not_loaded(
    grids: None, tmp_path: Path
) -> None:
    # Given codes with a wrong check character, a wrong length and a forbidden letter (O)
    path = _csv(
        tmp_path,
        "codes.csv",
        f"集团编码,集团名称,行业,统一社会信用代码\nE1,甲,金融,{GOOD_CODE}\n"
        "E2,乙,金融,91350100M000100Y44\nE3,丙,金融,9135010\nE4,丁,金融,91350100O000100Y43\n",
    )

    # When it is imported
    report = _load("enterprises", path)

    # Then the good row loads and each bad one is named in the quarantine
    assert (report.loaded, report.by_reason) == (1, {"type": 3})
    assert [(row, col, code) for _f, row, col, _v, code in _quarantined(report)] == [
        ("3", "credit_code", "type"),
        ("4", "credit_code", "type"),
        ("5", "credit_code", "type"),
    ]
    assert _stored("enterprises", "enterprise_id") == [("E1",)]


def test_a_member_in_two_enterprises_in_one_file_is_refused_and_nothing_loads(
    enterprises: None, tmp_path: Path
) -> None:
    # Given subscribers, and a member file naming S2 under E1 and again under E3
    _load(
        "plans",
        _csv(
            tmp_path, "plans.csv", "plan_id,name,plan_type,monthly_fee,is_5g\nP1,x,postpaid,1,否\n"
        ),
    )
    _load(
        "subscribers",
        _csv(
            tmp_path,
            "subs.csv",
            "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id\n"
            "S1,13800000001,政企,postpaid,2020-01-01,active,P1\n"
            "S2,13800000002,政企,postpaid,2020-01-01,active,P1\n",
        ),
    )
    path = _csv(
        tmp_path,
        "members.csv",
        "集团客户编码,用户编号,成员角色\nE1,S1,普通成员\nE1,S2,关键人\nE3,S2,普通成员\n",
    )

    # When it is imported
    with translation.override("en"), pytest.raises(ImportFailed) as refused:
        _load("enterprise_members", path)

    # Then the second membership's row and column are named with the first's
    assert str(refused.value) == (
        "members.csv: row 4, column enterprise_id (集团编码): S2 is under E3 here and under E1 "
        "in row 3; it can belong to only one. Nothing was loaded."
    )
    assert _stored("enterprise_members") == []

    # And a newer extract naming S2 under E3 alone moves the member
    _load("enterprise_members", _csv(tmp_path, "m1.csv", "集团编码,用户编号\nE1,S1\nE1,S2\n"))
    _load("enterprise_members", _csv(tmp_path, "m2.csv", "集团编码,用户编号\nE3,S2\n"))
    assert _stored("enterprise_members", "enterprise_id, subscriber_id") == [
        ("E1", "S1"),
        ("E3", "S2"),
    ]


PRODUCTS = (
    "产品实例编码,客户编码,产品名称,开通日期,合同到期日,月费（元）,协议,捆绑,趸交金额(元)\n"
    'P1,E1,专线,2023-01-01,2026-12-31,"1,200.50",是,否,0\n'
    "P2,E2,5G专网,2024/3/1,2027年3月1日,18000,是,是,216000\n"
    "P3,E3,集团V网,2022-06-01,,80,否,否,\n"
)
ORDERS = (
    "工单编号,客户编码,产品名称,受理类型,受理状态,受理日期,完成日期,金额(元)\n"
    "O1,E1,专线,新装,已完成,2024-01-02,2024-01-09,3000\n"
    "O2,E2,,咨询,受理中,2024-02-01,,\n"
)


@pytest.mark.parametrize("form", ["gbk", "xlsx"])
def test_products_and_orders_import_from_gbk_csv_and_xlsx(
    enterprises: None, tmp_path: Path, form: str
) -> None:
    # Given CRM exports of the products held and the orders, as GBK CSV or a workbook
    def file(name: str, text: str) -> Path:
        return (
            _xlsx(tmp_path, f"{name}.xlsx", text)
            if form == "xlsx"
            else _csv(tmp_path, f"{name}.csv", text)
        )

    # When they are imported
    products = _load("enterprise_products", file("products", PRODUCTS))
    orders = _load("enterprise_orders", file("orders", ORDERS))

    # Then every row loads, amounts in yuan and flags as booleans
    assert (products.loaded, products.quarantined, orders.loaded, orders.quarantined) == (
        3, 0, 2, 0,
    )  # fmt: skip
    assert _stored(
        "enterprise_products",
        "product_instance_id, product, CAST(contract_end AS VARCHAR), monthly_fee, agreement, "
        "bundled, prepaid",
    ) == [
        ("P1", "专线", "2026-12-31", 1200.5, True, False, 0.0),
        ("P2", "5G专网", "2027-03-01", 18000.0, True, True, 216000.0),
        ("P3", "集团V网", None, 80.0, False, False, None),
    ]
    assert _stored("enterprise_orders", "order_id, product, kind, status, amount") == [
        ("O1", "专线", "新装", "已完成", 3000.0),
        ("O2", None, "咨询", "受理中", None),
    ]


def test_an_unknown_product_or_enterprise_is_quarantined_by_row_and_column(
    enterprises: None, tmp_path: Path
) -> None:
    # Given a product line of a product not in the catalogue, one of an unknown enterprise and
    # an order of an unknown product
    products = _csv(
        tmp_path,
        "products.csv",
        "产品实例编码,集团编码,产品\nP1,E1,专线\nP2,E1,宽带套餐\nP3,E9,彩铃\n",
    )
    orders = _csv(
        tmp_path,
        "orders.csv",
        "订单编号,集团编码,产品,业务类型,处理状态,受理日期\nO1,E1,卫星电话,故障,处理中,2024-01-02\n",
    )

    # When they are imported
    held = _load("enterprise_products", products)
    ordered = _load("enterprise_orders", orders)

    # Then each bad row is named by file, row and column, and only the good one loads
    assert [q[:3] + q[4:] for q in _quarantined(held)] == [
        ("products.csv", "3", "product", "choice"),
        ("products.csv", "4", "enterprise_id", "reference"),
    ]
    assert [q[:3] + q[4:] for q in _quarantined(ordered)] == [
        ("orders.csv", "2", "product", "choice"),
    ]
    assert _stored("enterprise_products", "product_instance_id") == [("P1",)]
    assert _stored("enterprise_orders") == []
