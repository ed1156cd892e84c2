"""Excel workbooks imported: which sheet, which row is the header, merged cells, hidden rows and
columns, totals rows, error cells and .xls files. Every workbook is built with openpyxl (or the
.xls writer beside this file) and imported into a real warehouse; every row read is loaded or
quarantined, never both, never neither, never changed."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from quanwang.data.importer import ImportFailed, ImportReport, import_file
from quanwang.data.schema import TABLES
from quanwang.data.sources import ALL_SHEETS, ReadOptions, open_source
from quanwang.data.warehouse import Warehouse
from quanwang.data.workbooks import WorkbookSource, cell_text, header_names
from tests.data.xls_file import XlsError, XlsSheet, write_xls

PLAN_HEADER = ["plan_id", "name", "plan_type", "monthly_fee", "data_gb", "voice_minutes", "is_5g"]
PLAN_LABELS = ["套餐编码", "套餐名称", "套餐类型", "月费(元)", "流量(GB)", "语音(分钟)", "5G套餐"]


def _plan(number: int, **values: Any) -> list[Any]:
    row: dict[str, Any] = {
        "plan_id": f"P{number}",
        "name": f"套餐{number}",
        "plan_type": "postpaid",
        "monthly_fee": 100 + number,
        "data_gb": 30,
        "voice_minutes": 500,
        "is_5g": "是",
    }
    row.update(values)
    return [row[name] for name in PLAN_HEADER]


def _book(path: Path, sheets: dict[str, list[list[Any]]]) -> tuple[Path, Workbook]:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path, workbook


def _sheet(workbook: Workbook, name: str) -> Any:
    return workbook[name]


@pytest.fixture(autouse=True)
def _english() -> Any:
    """The notes and reasons are read in English here, whatever catalogue is compiled."""
    with translation.override("en"):
        yield


def _plans() -> list[tuple[Any, ...]]:
    relation = Warehouse().relation("plans")
    found = duckdb.sql(
        f"SELECT plan_id, name, plan_type, monthly_fee, data_gb, voice_minutes, is_5g "
        f"FROM {relation} ORDER BY plan_id"
    )
    assert found is not None
    return found.fetchall()


def _quarantine(report: ImportReport) -> list[dict[str, str]]:
    if not report.quarantine_file:
        return []
    with open(report.quarantine_file, encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _accounted(report: ImportReport) -> None:
    """Every row read is loaded or quarantined, never both."""
    assert report.rows_read == report.loaded + report.quarantined


# --- Sheets ----------------------------------------------------------------------------------


def test_data_on_several_sheets_is_refused_naming_them_and_how_to_choose(
    db: None, tmp_path: Path
) -> None:
    # Given a workbook with plans on two sheets and an empty third one
    path, _ = _book(
        tmp_path / "plans.xlsx",
        {"一月": [PLAN_HEADER, _plan(1)], "二月": [PLAN_HEADER, _plan(2)], "备用": []},
    )

    # When it is imported without naming a sheet
    with translation.override("en"), pytest.raises(ImportFailed) as failed:
        import_file(table_name="plans", path=path)

    # Then nothing is read: the error names the sheets holding data and how to choose
    message = str(failed.value)
    assert "一月, 二月" in message
    assert "备用" not in message
    assert "--sheet NAME" in message
    assert "--sheet all" in message
    assert "Sheet field" in message


def test_the_named_sheet_loads_and_its_rejects_name_it(db: None, tmp_path: Path) -> None:
    path, _ = _book(
        tmp_path / "plans.xlsx",
        {
            "一月": [PLAN_HEADER, _plan(1)],
            "二月": [PLAN_HEADER, _plan(2), _plan(3, plan_type="月租")],
        },
    )

    report = import_file(table_name="plans", path=path, options=ReadOptions(sheet="二月"))

    assert [row[0] for row in _plans()] == ["P2"]
    assert [(r["file"], r["row"], r["column"]) for r in _quarantine(report)] == [
        ("plans.xlsx:二月", "3", "plan_type")
    ]
    _accounted(report)


def test_a_sheet_name_that_does_not_exist_is_refused_with_the_sheets(
    db: None, tmp_path: Path
) -> None:
    path, _ = _book(tmp_path / "plans.xlsx", {"一月": [PLAN_HEADER, _plan(1)]})

    with translation.override("en"), pytest.raises(ImportFailed, match="no sheet is named 三月"):
        import_file(table_name="plans", path=path, options=ReadOptions(sheet="三月"))


def test_every_sheet_loads_in_turn_with_rows_counted_in_their_sheet(
    db: None, tmp_path: Path
) -> None:
    # Given two sheets whose headers name the same columns in another order, a bad row on each
    second = [PLAN_HEADER[::-1], _plan(3)[::-1], _plan(4, monthly_fee=-1)[::-1]]
    path, _ = _book(
        tmp_path / "plans.xlsx",
        {"一月": [PLAN_HEADER, _plan(1), _plan(2, is_5g="也许")], "二月": second},
    )

    # When every sheet is loaded
    report = import_file(table_name="plans", path=path, options=ReadOptions(sheet=ALL_SHEETS))

    # Then the good rows of both load, and each rejected row is named by sheet and its row there
    assert [row[0] for row in _plans()] == ["P1", "P3"]
    assert [(r["file"], r["row"], r["column"]) for r in _quarantine(report)] == [
        ("plans.xlsx:一月", "3", "is_5g"),
        ("plans.xlsx:二月", "3", "monthly_fee"),
    ]
    assert report.rows_read == 4
    _accounted(report)


def test_every_sheet_needs_the_same_columns(db: None, tmp_path: Path) -> None:
    path, _ = _book(
        tmp_path / "plans.xlsx",
        {"一月": [PLAN_HEADER, _plan(1)], "二月": [PLAN_HEADER[:-1], _plan(2)[:-1]]},
    )

    with translation.override("en"), pytest.raises(ImportFailed) as failed:
        import_file(table_name="plans", path=path, options=ReadOptions(sheet=ALL_SHEETS))

    assert "sheet 二月" in str(failed.value)
    assert "missing: is_5g" in str(failed.value)


def test_data_on_the_second_sheet_only_loads_it(db: None, tmp_path: Path) -> None:
    # Given an empty first sheet, data on the second and a hidden sheet of lookup values
    path, workbook = _book(
        tmp_path / "plans.xlsx",
        {"Sheet1": [], "套餐": [PLAN_HEADER, _plan(1)], "下拉": [["postpaid"], ["prepaid"]]},
    )
    _sheet(workbook, "下拉").sheet_state = "hidden"
    workbook.save(path)

    report = import_file(table_name="plans", path=path)

    assert report.loaded == 1
    assert any("套餐" in note for note in report.notes)


def test_a_workbook_with_no_data_says_so_naming_its_sheets(db: None, tmp_path: Path) -> None:
    path, _ = _book(tmp_path / "plans.xlsx", {"Sheet1": [], "Sheet2": []})

    with translation.override("en"), pytest.raises(ImportFailed, match="Sheet1, Sheet2"):
        import_file(table_name="plans", path=path)


# --- The header row --------------------------------------------------------------------------


def test_a_title_and_a_blank_row_above_the_header_are_not_data(db: None, tmp_path: Path) -> None:
    # Given a merged title, a blank row, then a header of Chinese labels in row 3
    title = [["2024年6月套餐清单"], [], PLAN_LABELS]
    path, workbook = _book(
        tmp_path / "plans.xlsx", {"套餐": [*title, _plan(1), _plan(2, data_gb="很多")]}
    )
    _sheet(workbook, "套餐").merge_cells("A1:G1")
    workbook.save(path)

    # When it is imported
    report = import_file(table_name="plans", path=path)

    # Then the header is found, and the bad row is named by its row in the sheet
    assert [row[0] for row in _plans()] == ["P1"]
    assert [(r["row"], r["column"]) for r in _quarantine(report)] == [("5", "data_gb")]
    assert report.rows_read == 2
    assert "Sheet 套餐: the header is row 3" in report.notes


def test_a_title_over_a_foreign_header_is_passed_by_the_mappings_columns(
    db: None, tmp_path: Path
) -> None:
    # Given a foreign export (a mapping names its columns) under a two-cell title row
    foreign = ["编号", "名字", "类型", "资费", "流量", "分钟", "五G"]
    path, _ = _book(tmp_path / "plans.xlsx", {"导出": [["套餐清单", "2024-06"], foreign, _plan(1)]})
    mapping = {"columns": {t: {"from": f} for t, f in zip(PLAN_HEADER, foreign, strict=True)}}

    report = import_file(table_name="plans", path=path, mapping=mapping)

    assert report.loaded == 1
    assert _plans()[0][0] == "P1"


def test_the_header_row_can_be_named(db: None, tmp_path: Path) -> None:
    rows = [["制表：市场部"], ["口径：全量"], PLAN_HEADER, _plan(1)]
    path, _ = _book(tmp_path / "plans.xlsx", {"套餐": rows})

    report = import_file(table_name="plans", path=path, options=ReadOptions(header_row=3))

    assert report.loaded == 1
    assert report.rows_read == 1


def test_a_header_row_past_the_sheet_is_refused_naming_the_sheet(db: None, tmp_path: Path) -> None:
    path, _ = _book(tmp_path / "plans.xlsx", {"套餐": [PLAN_HEADER, _plan(1)]})

    with translation.override("en"), pytest.raises(ImportFailed, match="sheet 套餐 has no row 9"):
        import_file(table_name="plans", path=path, options=ReadOptions(header_row=9))


# --- Merged cells, hidden rows and columns ---------------------------------------------------


def test_a_cell_merged_down_its_rows_fills_each_of_them(db: None, tmp_path: Path) -> None:
    # Given a plan type merged down three rows (only the first cell holds the value)
    path, workbook = _book(
        tmp_path / "plans.xlsx",
        {"套餐": [PLAN_HEADER, _plan(1), _plan(2, plan_type=None), _plan(3, plan_type=None)]},
    )
    _sheet(workbook, "套餐").merge_cells("C2:C4")
    workbook.save(path)

    report = import_file(table_name="plans", path=path)

    # Then every row of the range has the value, and the report says so
    assert [row[2] for row in _plans()] == ["postpaid"] * 3
    assert "Sheet 套餐: merged cells filled with their range's value: 2 (rows 3, 4)" in report.notes


def test_an_error_merged_down_its_rows_quarantines_each_of_them(db: None, tmp_path: Path) -> None:
    path, workbook = _book(
        tmp_path / "plans.xlsx",
        {"套餐": [PLAN_HEADER, _plan(1), _plan(2, name="#N/A"), _plan(3, name=None)]},
    )
    _sheet(workbook, "套餐").merge_cells("B3:B4")
    workbook.save(path)

    report = import_file(table_name="plans", path=path)

    assert [row[0] for row in _plans()] == ["P1"]
    assert [(r["row"], r["column"], r["value"]) for r in _quarantine(report)] == [
        ("3", "name", "#N/A"),
        ("4", "name", "#N/A"),
    ]


def test_a_hidden_column_is_not_loaded_and_is_reported(db: None, tmp_path: Path) -> None:
    # Given an old, hidden name column beside the visible one: both name the plan's name
    header = [*PLAN_HEADER[:1], "套餐名称", *PLAN_HEADER[1:]]
    row = [*_plan(1)[:1], "旧名称", *_plan(1)[1:]]
    path, workbook = _book(tmp_path / "plans.xlsx", {"套餐": [header, row]})
    _sheet(workbook, "套餐").column_dimensions["B"].hidden = True
    workbook.save(path)

    report = import_file(table_name="plans", path=path)

    # Then the visible column is the one loaded, and the hidden one is named in the report
    assert _plans()[0][1] == "套餐1"
    assert "Sheet 套餐: hidden columns not loaded: B (套餐名称)" in report.notes


def test_hidden_rows_are_loaded_and_reported(db: None, tmp_path: Path) -> None:
    path, workbook = _book(tmp_path / "plans.xlsx", {"套餐": [PLAN_HEADER, _plan(1), _plan(2)]})
    _sheet(workbook, "套餐").row_dimensions[3].hidden = True
    workbook.save(path)

    report = import_file(table_name="plans", path=path)

    assert report.loaded == 2
    assert "Sheet 套餐: hidden rows loaded: 1 (rows 3)" in report.notes


# --- Rows that are not data, and cells that hold no value ------------------------------------


@pytest.mark.parametrize("label", ["合计", "总计", "小 计", "Total", "Grand Total:", "合计："])
def test_a_totals_row_is_quarantined_as_totals(db: None, tmp_path: Path, label: str) -> None:
    totals = [label, None, None, 203, 60, 1000, None]
    path, _ = _book(tmp_path / "plans.xlsx", {"套餐": [PLAN_HEADER, _plan(1), _plan(2), totals]})

    report = import_file(table_name="plans", path=path)

    assert report.loaded == 2
    assert [(r["row"], r["column"], r["value"], r["reason_code"]) for r in _quarantine(report)] == [
        ("4", "plan_id", label, "totals")
    ]
    assert report.by_reason == {"totals": 1}
    assert report.rows_read == 3
    _accounted(report)


def test_a_row_whose_first_value_merely_contains_total_loads(db: None, tmp_path: Path) -> None:
    path, _ = _book(tmp_path / "plans.xlsx", {"套餐": [PLAN_HEADER, _plan(1, plan_id="TOTAL-5G")]})

    report = import_file(table_name="plans", path=path)

    assert report.loaded == 1
    assert report.quarantined == 0


def test_an_excel_error_cell_is_quarantined_not_loaded_as_text(db: None, tmp_path: Path) -> None:
    # Given a text column holding #N/A (a failed VLOOKUP) and a number column #DIV/0!
    path, _ = _book(
        tmp_path / "plans.xlsx",
        {"套餐": [PLAN_HEADER, _plan(1), _plan(2, name="#N/A"), _plan(3, data_gb="#DIV/0!")]},
    )

    report = import_file(table_name="plans", path=path)

    assert [row[0] for row in _plans()] == ["P1"]
    assert [(r["row"], r["column"], r["value"], r["reason_code"]) for r in _quarantine(report)] == [
        ("3", "name", "#N/A", "type"),
        ("4", "data_gb", "#DIV/0!", "type"),
    ]
    assert "Excel error #N/A" in _quarantine(report)[0]["reason_en"]
    _accounted(report)


def test_a_formula_saved_without_its_result_is_quarantined(db: None, tmp_path: Path) -> None:
    # Given a workbook written by a program: a formula, and no result stored for it
    path, _ = _book(
        tmp_path / "plans.xlsx", {"套餐": [PLAN_HEADER, _plan(1), _plan(2, monthly_fee="=D2*2")]}
    )

    report = import_file(table_name="plans", path=path)

    assert report.loaded == 1
    assert [(r["row"], r["column"], r["reason_code"]) for r in _quarantine(report)] == [
        ("3", "monthly_fee", "type")
    ]
    assert "without its result" in _quarantine(report)[0]["reason_en"]


def test_a_value_in_a_column_without_a_header_is_quarantined(db: None, tmp_path: Path) -> None:
    path, _ = _book(
        tmp_path / "plans.xlsx", {"套餐": [PLAN_HEADER, _plan(1), [*_plan(2), None, "备注"]]}
    )

    report = import_file(table_name="plans", path=path)

    assert report.loaded == 1
    assert [(r["row"], r["column"], r["value"], r["reason_code"]) for r in _quarantine(report)] == [
        ("3", "I", "备注", "malformed")
    ]


# --- Values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1 + 0.2, "0.3"),
        (30.0, "30"),
        (13800000001, "13800000001"),
        (1e-05, "0.00001"),
        (-2.5, "-2.5"),
        (True, "true"),
        (False, "false"),
        (datetime.datetime(2024, 1, 5), "2024-01-05"),
        (datetime.datetime(2024, 1, 5, 9, 30), "2024-01-05 09:30:00"),
        (datetime.date(2024, 1, 5), "2024-01-05"),
        (datetime.time(9, 30), "09:30:00"),
        (datetime.timedelta(hours=30, minutes=5), "30:05:00"),
        ("", ""),
        (" 原样 ", " 原样 "),
    ],
)
def test_a_cell_is_read_as_excel_shows_it(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_numbers_dates_and_booleans_load_with_their_value(db: None, tmp_path: Path) -> None:
    row = _plan(1, monthly_fee=129.5, data_gb=0.1 + 0.2, voice_minutes=500.0, is_5g=True)
    path, _ = _book(tmp_path / "plans.xlsx", {"套餐": [PLAN_HEADER, row]})

    import_file(table_name="plans", path=path)

    assert _plans() == [("P1", "套餐1", "postpaid", 129.5, 0.3, 500, True)]


# --- .xls ------------------------------------------------------------------------------------


def test_an_xls_workbook_loads_with_the_same_rules(db: None, tmp_path: Path) -> None:
    # Given an Excel 97-2003 file: a title, the header in row 3, a plan type merged down two
    # rows, a hidden old-name column, an #N/A and a totals row
    header = [*PLAN_LABELS[:1], "旧名称", *PLAN_LABELS[1:]]
    rows = [
        ["2024年6月套餐"],
        [],
        header,
        [*_plan(1)[:1], "x", *_plan(1)[1:]],
        [*_plan(2)[:1], "y", *_plan(2, plan_type="")[1:]],
        [*_plan(3)[:1], "z", *_plan(3, name=XlsError("#N/A"))[1:]],
        ["合计", "", "", "", 306],
    ]
    cells = {
        (r, c): value
        for r, row in enumerate(rows, start=1)
        for c, value in enumerate(row, start=1)
        if value not in ("", None)
    }
    sheet = XlsSheet("套餐", cells, hidden_columns={2}, merges=[(4, 4, 5, 4)])
    path = write_xls(tmp_path / "plans.xls", [sheet])

    # When it is imported
    report = import_file(table_name="plans", path=path)

    # Then it loads as an .xlsx would
    assert _plans() == [
        ("P1", "套餐1", "postpaid", 101.0, 30.0, 500, True),
        ("P2", "套餐2", "postpaid", 102.0, 30.0, 500, True),
    ]
    assert [(r["file"], r["row"], r["column"], r["reason_code"]) for r in _quarantine(report)] == [
        ("plans.xls:套餐", "6", "套餐名称", "type"),
        ("plans.xls:套餐", "7", "套餐编码", "totals"),
    ]
    assert "Sheet 套餐: hidden columns not loaded: B (旧名称)" in report.notes
    _accounted(report)


# --- Every row in its place ------------------------------------------------------------------

ROW_KINDS = st.sampled_from(["good", "good", "good", "blank", "totals", "error", "merged"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=st.integers(min_value=0, max_value=3),
    first=st.lists(ROW_KINDS, min_size=1, max_size=12),
    second=st.lists(ROW_KINDS, max_size=8),
)
def test_each_row_is_written_once_or_set_aside_once_and_placed_at_its_sheet_row(
    tmp_path_factory: pytest.TempPathFactory, title: int, first: list[str], second: list[str]
) -> None:
    # Given one or two sheets: title rows, then plans rows of every kind, the row's number in
    # its sheet written in its name column
    folder = tmp_path_factory.mktemp("book")
    workbook = Workbook()
    workbook.remove(workbook.active)
    expected: dict[tuple[int, int], str] = {}  # (sheet, row) → what becomes of it
    for index, kinds in enumerate([first, second] if second else [first]):
        sheet = workbook.create_sheet(f"S{index}")
        for line in range(title):
            sheet.append([f"标题 {line}"] if line % 2 == 0 else [])
        sheet.append(PLAN_HEADER)
        for kind in kinds:
            number = sheet._current_row + 1  # max_row leaves out rows without cells
            row = _plan(number, name=f"{index}:{number}")
            if kind == "blank":
                row = [None] * len(PLAN_HEADER)
            elif kind == "totals":
                row = ["合计", f"{index}:{number}"]
            elif kind == "error":
                row = _plan(number, name=f"{index}:{number}", data_gb="#N/A")
            sheet.append(row)
            if kind == "merged":  # the name merged over the row below
                sheet.append([f"P{number}b", None, *row[2:]])
                sheet.merge_cells(f"B{number}:B{number + 1}")
                expected[(index, number + 1)] = "csv"
            if kind != "blank":
                expected[(index, number)] = "csv" if kind in {"good", "merged"} else kind
    path = folder / "book.xlsx"
    workbook.save(path)

    # When it is read as one CSV
    source = open_source(
        path=path,
        work_dir=folder,
        options=ReadOptions(sheet=ALL_SHEETS),
        header_names=header_names(TABLES["plans"], None),
    )

    # Then every row with a value is a CSV row or a set-aside one, once, at its sheet row
    assert isinstance(source, WorkbookSource)
    assert source.csv_path is not None
    found: dict[tuple[int, int], str] = {}
    with source.csv_path.open(encoding="utf-8") as handle:
        for line, row in enumerate(list(csv.reader(handle))[1:], start=2):
            place = source.place(line)
            assert place not in found
            found[place] = "csv"
            sheet_index, number = place
            merged_from = expected.get((sheet_index, number - 1)) == "csv" and row[0].endswith("b")
            assert row[1] == f"{sheet_index}:{number - 1 if merged_from else number}"
    for row_id, _column, _value, code, _zh, _en in source.set_aside:
        place = source.place(row_id)
        assert found.get(place, code) == code  # one row, one or more reasons
        found[place] = "totals" if code == "totals" else "error"
    assert found == expected
