"""Headers find their column whatever their width, case or spacing, and a column found twice
is an error that names both headers, never a silent choice."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import translation

from quanwang.data.importer import ImportFailed, import_file
from quanwang.data.mapping import header_key
from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse


def _import(
    tmp_path: Path, table: str, rows: list[list[str]], **extra: Any
) -> list[dict[str, Any]]:
    path = tmp_path / f"{table}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    store = Warehouse(tmp_path / "warehouse")
    import_file(
        table_name=table,
        path=path,
        warehouse=store,
        quarantine_dir=tmp_path / "quarantine",
        **extra,
    )
    relation = duckdb.sql(f"SELECT * FROM {store.relation(table)} ORDER BY ALL")
    assert relation is not None  # a SELECT always gives a relation
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_full_width_brackets_and_spaces_case_and_spacing_do_not_matter(
    db: None, tmp_path: Path
) -> None:
    # Given plan headers with full-width brackets and letters, a full-width space, other case
    # and spacing than the labels
    rows = [
        ["套餐　编码", "Plan Name", "套餐类型", "月费（元）", "ＤＡＴＡ ALLOWANCE (GB)", "5g 套餐"],
        ["P1", "畅享", "postpaid", "129", "30", "是"],
    ]

    # When they are imported without a mapping
    loaded = _import(tmp_path, "plans", rows)

    # Then every column found its header
    assert loaded == [
        {
            "plan_id": "P1",
            "name": "畅享",
            "plan_type": "postpaid",
            "monthly_fee": 129.0,
            "data_gb": 30.0,
            "voice_minutes": None,
            "is_5g": True,
        }
    ]


def test_a_billed_amount_header_with_full_width_brackets_is_read(db: None, tmp_path: Path) -> None:
    # Given a plan and a subscriber, and usage whose headers have full-width brackets
    _import(
        tmp_path,
        "plans",
        [
            ["plan_id", "name", "plan_type", "monthly_fee", "is_5g"],
            ["P1", "畅享", "postpaid", "10", "是"],
        ],
    )
    _import(
        tmp_path,
        "subscribers",
        [
            ["用户编号", "手机号码", "客户类型", "付费类型", "入网日期", "状态", "套餐编码"],
            ["S1", "13800138000", "个人", "prepaid", "2021-01-05", "active", "P1"],
        ],
    )

    # When the usage is imported without a mapping
    loaded = _import(
        tmp_path,
        "monthly_usage",
        [["用户编号", "账期（ＹＹＹＹ－ＭＭ）", "出账收入（元）"], ["S1", "2024-06", "48.50"]],
    )

    # Then 出账收入（元） was read as 出账收入(元)
    assert [(r["subscriber_id"], r["month"], r["arpu"]) for r in loaded] == [
        ("S1", "2024-06", 48.5)
    ]


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        (
            ["plan_id", "name", "plan_type", "monthly_fee", "月费(元)", "is_5g"],
            "monthly_fee, 月费(元)",
        ),
        (["plan_id", "name", "NAME", "plan_type", "monthly_fee", "is_5g"], "name, NAME"),
        (
            ["plan_id", "套餐名称", "Plan name", "plan_type", "monthly_fee", "is_5g"],
            "套餐名称, Plan name",
        ),
    ],
)
def test_two_headers_for_one_column_are_refused_naming_both(
    db: None, tmp_path: Path, headers: list[str], named: str
) -> None:
    # Given a file with two columns that both name one table column
    rows = [headers, ["x"] * len(headers)]

    # When it is imported, then nothing loads and the error names both headers
    with translation.override("en"), pytest.raises(ImportFailed) as refused:
        _import(tmp_path, "plans", rows)
    assert named in str(refused.value)
    assert "several columns" in str(refused.value)
    assert not Warehouse(tmp_path / "warehouse").current_file("plans")


def test_a_mapping_rule_for_the_column_settles_which_header_is_read(
    db: None, tmp_path: Path
) -> None:
    rows = [
        ["plan_id", "name", "plan_type", "monthly_fee", "月费(元)", "is_5g"],
        ["P1", "畅享", "postpaid", "129", "12900", "是"],
    ]

    loaded = _import(
        tmp_path,
        "plans",
        rows,
        mapping={"columns": {"monthly_fee": {"from": "月费（元）", "unit": "fen"}}},
    )

    assert loaded[0]["monthly_fee"] == 129.0


def test_every_table_s_names_and_labels_tell_its_columns_apart() -> None:
    # Every header that names a column names only that one, once compared as headers are.
    clashes = []
    for table in TABLES.values():
        owner: dict[str, str] = {}
        for column in table.columns:
            for label in {header_key(x) for x in (column.name, column.zh, column.en)}:
                if owner.setdefault(label, column.name) != column.name:
                    clashes.append(f"{table.name}: {label} ({owner[label]}, {column.name})")

    assert clashes == []


def test_a_header_key_ignores_width_case_and_every_space() -> None:
    assert header_key("出账收入（元）") == header_key("出账收入(元)")
    assert header_key(" Monthly\u3000FEE ( yuan ) ") == header_key("monthly fee (yuan)")
    assert header_key("月费(元)") != header_key("月费(分)")
