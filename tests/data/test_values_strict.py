"""Every value is loaded as exactly what the file writes, or its row is quarantined with a
reason: numbers, amounts, dates, months and phone numbers, read typed or as text."""

from __future__ import annotations

import csv
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.data import scan as scanning
from quanwang.data.importer import ImportReport, import_file
from quanwang.data.mapping import MappingError, validate_spec
from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse

PLANS_HEADER = ["plan_id", "name", "plan_type", "monthly_fee", "data_gb", "is_5g"]
GRIDS_HEADER = ["grid_id", "name", "grid_type", "county_code", "centroid_lon"]
SUBSCRIBERS_HEADER = [
    "subscriber_id",
    "msisdn",
    "segment",
    "payment_type",
    "join_date",
    "status",
    "plan_id",
]
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Messages are matched in English here, whatever catalogue is compiled."""
    with translation.override("en"):
        yield


def _import(
    folder: Path, table: str, header: list[str], rows: list[list[str]], **extra: Any
) -> tuple[ImportReport, list[dict[str, Any]], list[dict[str, str]]]:
    """Write a CSV, import it into a warehouse of its own under `folder` (after the files of
    `before`, a table → rows), and return the report, the table's rows in key order and the
    rejected-rows file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{table}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    store = Warehouse(folder / "warehouse")
    for earlier, earlier_rows in extra.pop("before", {}).items():
        earlier_path = folder / f"{earlier}-before.csv"
        with earlier_path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(earlier_rows)
        import_file(table_name=earlier, path=earlier_path, warehouse=store)
    report = import_file(
        table_name=table,
        path=path,
        warehouse=store,
        quarantine_dir=folder / "quarantine",
        **extra,
    )
    relation = duckdb.sql(f"SELECT * FROM {store.relation(table)} ORDER BY ALL")
    assert relation is not None  # a SELECT always gives a relation
    loaded = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    rejected: list[dict[str, str]] = []
    if report.quarantine_file:
        with open(report.quarantine_file, encoding="utf-8-sig") as handle:
            rejected = list(csv.DictReader(handle))
    return report, loaded, rejected


def _plan(plan_id: str, fee: str = "10", data: str = "1") -> list[str]:
    return [plan_id, "套餐" + plan_id, "postpaid", fee, data, "是"]


def _grid(grid_id: str, lon: str) -> list[str]:
    return [grid_id, "网格" + grid_id, "沿街", "C1", lon]


def _subscriber(
    subscriber_id: str, msisdn: str = "13800138000", joined: str = "2021-01-05"
) -> list[str]:
    return [subscriber_id, msisdn, "个人", "prepaid", joined, "active", "P1"]


PLANS_BEFORE = {"plans": [PLANS_HEADER, _plan("P1")]}


def _reasons(rejected: list[dict[str, str]]) -> dict[tuple[int, str], tuple[str, str]]:
    return {(int(r["row"]), r["column"]): (r["value"], r["reason_code"]) for r in rejected}


def test_numbers_in_report_forms_load_as_the_number_they_write(db: None, tmp_path: Path) -> None:
    # Given fees and data written with thousands separators, currency signs, full-width digits
    rows = [
        _plan("P1", "1,234,567.5", "1,234"),
        _plan("P2", "¥ 88 元", "１２３"),
        _plan("P3", "￥1,000.50", " 7 "),
        _plan("P4", "12.3400", "1_000"),
    ]

    # When they are imported
    report, loaded, _rejected = _import(tmp_path, "plans", PLANS_HEADER, rows)

    # Then each loaded as exactly its number
    assert report.quarantined == 0
    assert [(r["plan_id"], r["monthly_fee"], r["data_gb"]) for r in loaded] == [
        ("P1", 1234567.5, 1234.0),
        ("P2", 88.0, 123.0),
        ("P3", 1000.5, 7.0),
        ("P4", 12.34, 1000.0),
    ]


def test_accounting_parentheses_and_signs_are_negative(db: None, tmp_path: Path) -> None:
    rows = [_grid("G1", "(12.50)"), _grid("G2", "-¥5"), _grid("G3", "￥-7.25"), _grid("G4", "(-5)")]

    report, loaded, rejected = _import(tmp_path, "grids", GRIDS_HEADER, rows)

    assert [(r["grid_id"], r["centroid_lon"]) for r in loaded] == [
        ("G1", -12.5),
        ("G2", -5.0),
        ("G3", -7.25),
    ]
    assert _reasons(rejected) == {(5, "centroid_lon"): ("(-5)", "type")}
    assert report.loaded == 3


@pytest.mark.parametrize("text", ["1.234,50", "12,34", "0,5", "1 234", "1,2345", "12GB", "1.2.3"])
def test_a_number_in_any_other_form_is_quarantined_never_reread(
    db: None, tmp_path: Path, text: str
) -> None:
    # Given a plan whose data allowance is written in a form that could be read two ways
    rows = [_plan("P1"), _plan("P2", data=text)]

    # When it is imported
    report, loaded, rejected = _import(tmp_path, "plans", PLANS_HEADER, rows)

    # Then that row is set aside as the wrong type, with its text as written
    assert _reasons(rejected) == {(3, "data_gb"): (text, "type")}
    assert [r["plan_id"] for r in loaded] == ["P1"]
    assert "comma only between groups of three" in rejected[0]["reason_en"]
    assert report.quarantined == 1


def test_an_amount_with_a_fraction_of_a_fen_is_quarantined_not_rounded(
    db: None, tmp_path: Path
) -> None:
    rows = [_plan("P1", "12.345"), _plan("P2", "12.34"), _plan("P3", "12.5")]

    _report, loaded, rejected = _import(tmp_path, "plans", PLANS_HEADER, rows)
    _fen_report, fen_loaded, fen_rejected = _import(
        tmp_path / "fen",
        "plans",
        PLANS_HEADER,
        rows,
        mapping={"columns": {"monthly_fee": {"from": "monthly_fee", "unit": "fen"}}},
    )

    assert [(r["plan_id"], r["monthly_fee"]) for r in loaded] == [("P2", 12.34), ("P3", 12.5)]
    assert _reasons(rejected) == {(2, "monthly_fee"): ("12.345", "type")}
    assert fen_loaded == []
    assert set(_reasons(fen_rejected).values()) == {
        ("12.345", "type"),
        ("12.34", "type"),
        ("12.5", "type"),
    }


@pytest.mark.parametrize("typed", [True, False])
def test_a_value_out_of_range_shows_as_the_file_writes_it(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: bool
) -> None:
    # Given negative data allowances written "-5" and "-5.00", in a file read typed or as text
    if not typed:
        monkeypatch.setattr(scanning, "PROBE_MAX_FAILURES", -1.0)
    rows = [_plan("P1"), _plan("P2", data="-5"), _plan("P3", data="-5.00"), _plan("P4", "-1")]
    scans: list[Any] = []
    typed_scan = scanning._typed_scan

    def spy(**kwargs: Any) -> Any:
        scans.append(typed_scan(**kwargs))
        return scans[-1]

    monkeypatch.setattr(scanning, "_typed_scan", spy)

    # When it is imported
    _report, _loaded, rejected = _import(tmp_path, "plans", PLANS_HEADER, rows)

    # Then each is quarantined with its own text, not the number read
    assert bool(scans) is typed
    assert _reasons(rejected) == {
        (3, "data_gb"): ("-5", "range"),
        (4, "data_gb"): ("-5.00", "range"),
        (5, "monthly_fee"): ("-1", "range"),
    }


def test_mobile_numbers_are_stored_as_their_eleven_digits(db: None, tmp_path: Path) -> None:
    # Given numbers written with spaces, hyphens, +86, full-width digits, a letter and as
    # Excel shows a number column
    rows = [
        _subscriber("S1", "138 0013 8001"),
        _subscriber("S2", "+86 138-0013-8002"),
        _subscriber("S3", "8613800138003"),
        _subscriber("S4", "１３８００１３８００４"),
        _subscriber("S5", "1380013800A"),
        _subscriber("S6", "1.38001380000E+10"),
        _subscriber("S7", "23800138007"),
    ]

    # When they are imported
    _report, loaded, rejected = _import(
        tmp_path, "subscribers", SUBSCRIBERS_HEADER, rows, before=PLANS_BEFORE
    )

    # Then the numbers are stored as 11 digits, and the others are set aside, Excel's with how
    # to export it as text
    assert [(r["subscriber_id"], r["msisdn"]) for r in loaded] == [
        ("S1", "13800138001"),
        ("S2", "13800138002"),
        ("S3", "13800138003"),
        ("S4", "13800138004"),
    ]
    assert _reasons(rejected) == {
        (6, "msisdn"): ("1380013800A", "type"),
        (7, "msisdn"): ("1.38001380000E+10", "type"),
        (8, "msisdn"): ("23800138007", "type"),
    }
    excel = next(r for r in rejected if r["row"] == "7")
    assert "format the column as text in Excel" in excel["reason_en"]
    assert "文本格式" in excel["reason_zh"]
    assert "Excel" not in next(r for r in rejected if r["row"] == "6")["reason_en"]


def test_months_are_stored_as_year_dash_month(db: None, tmp_path: Path) -> None:
    # Given a month written seven ways, and two months that do not exist
    forms = ["2024-06", "202406", "2024年6月", "2024/6", "2024-6", "2024.06", "２０２４－０６"]
    subscribers = [SUBSCRIBERS_HEADER] + [
        _subscriber(f"S{i}", f"1380013800{i}") for i in range(len(forms) + 2)
    ]
    rows = [[f"S{i}", month, "10"] for i, month in enumerate(forms)]
    rows += [[f"S{len(forms)}", "2024-13", "10"], [f"S{len(forms) + 1}", "24-06", "10"]]

    # When monthly usage is imported
    _report, loaded, rejected = _import(
        tmp_path,
        "monthly_usage",
        ["subscriber_id", "month", "arpu"],
        rows,
        before={**PLANS_BEFORE, "subscribers": subscribers},
    )

    # Then every month is 2024-06 as stored, and the others are quarantined as written
    assert [(r["subscriber_id"], r["month"]) for r in loaded] == [
        (f"S{i}", "2024-06") for i in range(len(forms))
    ]
    assert _reasons(rejected) == {
        (9, "month"): ("2024-13", "type"),
        (10, "month"): ("24-06", "type"),
    }
    assert rejected[0]["reason_en"].startswith("not a month")


def test_the_same_month_written_two_ways_is_a_duplicate(db: None, tmp_path: Path) -> None:
    subscribers = [SUBSCRIBERS_HEADER, _subscriber("S1")]
    rows = [["S1", "2024-06", "10"], ["S1", "202406", "12"]]

    report, _loaded, rejected = _import(
        tmp_path,
        "monthly_usage",
        ["subscriber_id", "month", "arpu"],
        rows,
        before={**PLANS_BEFORE, "subscribers": subscribers},
    )

    assert report.loaded == 1
    assert [(r["row"], r["reason_code"]) for r in rejected] == [("3", "duplicate")]


def test_dates_in_unambiguous_forms_load_and_others_are_quarantined(
    db: None, tmp_path: Path
) -> None:
    # Given join dates in the forms read without a mapping, and in forms that need one
    dates = ["2024-01-05", "2024/1/5", "20240105", "2024.01.05", "2024年1月5日"]
    dates += ["2024-01-05 09:30:00", "2024/1/5 23:59:59.250"]
    rows = [_subscriber(f"S{i}", f"1380013800{i}", d) for i, d in enumerate(dates)]
    rows += [_subscriber("S7", "13800138007", "05/01/2024")]
    rows += [_subscriber("S8", "13800138008", "12345")]
    rows += [_subscriber("S9", "13800138009", "2024-01-05 24:00:00")]

    # When they are imported
    _report, loaded, rejected = _import(
        tmp_path, "subscribers", SUBSCRIBERS_HEADER, rows, before=PLANS_BEFORE
    )

    # Then the first seven are 5 January 2024, and the others are not guessed at
    assert {str(r["join_date"]) for r in loaded} == {"2024-01-05"}
    assert len(loaded) == 7
    assert _reasons(rejected) == {
        (9, "join_date"): ("05/01/2024", "type"),
        (10, "join_date"): ("12345", "type"),
        (11, "join_date"): ("2024-01-05 24:00:00", "type"),
    }
    hints = {r["row"]: r["reason_en"] for r in rejected}
    assert '"format": "%d/%m/%Y"' in hints["9"]
    assert '"format": "excel_serial"' in hints["10"]


def test_a_mapping_names_the_day_first_format_or_excel_serials(db: None, tmp_path: Path) -> None:
    rows = [
        _subscriber("S1", "13800138001", "05/01/2024"),
        _subscriber("S2", "13800138002", "2024-01-06"),
        _subscriber("S3", "13800138003", "31/02/2024"),
    ]
    serials = [_subscriber("S4", "13800138004", "45296"), _subscriber("S5", "13800138005", "4529")]

    _report, loaded, rejected = _import(
        tmp_path / "dmy",
        "subscribers",
        SUBSCRIBERS_HEADER,
        rows,
        before=PLANS_BEFORE,
        mapping={"columns": {"join_date": {"from": "join_date", "format": "%d/%m/%Y"}}},
    )
    _serial_report, serial_loaded, serial_rejected = _import(
        tmp_path / "serial",
        "subscribers",
        SUBSCRIBERS_HEADER,
        serials,
        before=PLANS_BEFORE,
        mapping={"columns": {"join_date": {"from": "join_date", "format": "excel_serial"}}},
    )

    assert [(r["subscriber_id"], str(r["join_date"])) for r in loaded] == [
        ("S1", "2024-01-05"),
        ("S2", "2024-01-06"),
    ]
    assert _reasons(rejected) == {(4, "join_date"): ("31/02/2024", "type")}
    assert [(r["subscriber_id"], str(r["join_date"])) for r in serial_loaded] == [
        ("S4", "2024-01-05")
    ]
    assert _reasons(serial_rejected) == {(3, "join_date"): ("4529", "type")}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"from": "x", "format": "%d/%m/%y"}, "four-digit year"),
        ({"from": "x", "format": "%d/%m"}, "four-digit year"),
        ({"from": "x", "format": "%d/%m/%Y%"}, "four-digit year"),
        ({"from": "x", "format": "%d/%d/%m/%Y"}, "four-digit year"),
    ],
)
def test_a_date_format_without_day_month_and_year_once_each_is_refused(
    rule: dict[str, str], message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        validate_spec(table=TABLES["subscribers"], spec={"columns": {"join_date": rule}})


def test_a_format_is_only_for_date_columns_and_a_good_one_is_saved() -> None:
    table = TABLES["subscribers"]

    with pytest.raises(MappingError, match="only be given for a date column"):
        validate_spec(table=table, spec={"columns": {"msisdn": {"from": "x", "format": "%Y"}}})
    for good in ("%d/%m/%Y", "%m/%d/%Y %H:%M:%S", "excel_serial"):
        validate_spec(table=table, spec={"columns": {"join_date": {"from": "x", "format": good}}})


# -- the property: a number in an accepted form loads as itself, any other is quarantined ---

AMOUNTS = st.decimals(
    min_value=0, max_value=Decimal("9999999999.99"), places=2, allow_nan=False
).map(lambda d: d.quantize(Decimal(1)) if d == d.to_integral() else d)


def _write_number(value: Decimal, style: str) -> str:
    grouped = f"{value:,}"
    plain = f"{value}"
    return {
        "plain": plain,
        "grouped": grouped,
        "yuan_sign": f"¥{grouped}",
        "full_width_yuan": f"￥ {plain}",
        "yuan_word": f"{grouped} 元",
        "full_width": plain.translate(FULL_WIDTH_DIGITS),
        "spaced": f"  {grouped}  ",
        "plus": f"+{plain}",
    }[style]


STYLES = [
    "plain",
    "grouped",
    "yuan_sign",
    "full_width_yuan",
    "yuan_word",
    "full_width",
    "spaced",
    "plus",
]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(numbers=st.lists(st.tuples(AMOUNTS, st.sampled_from(STYLES)), min_size=1, max_size=20))
def test_any_number_written_in_an_accepted_form_loads_as_exactly_that_number(
    db: None, numbers: list[tuple[Decimal, str]]
) -> None:
    # Given plans whose fee and data allowance are a number written in an accepted form
    rows = [
        _plan(f"P{i}", _write_number(value, style), _write_number(value, style))
        for i, (value, style) in enumerate(numbers)
    ]

    # When they are imported
    with tempfile.TemporaryDirectory() as folder:
        report, loaded, rejected = _import(Path(folder), "plans", PLANS_HEADER, rows)

    # Then each loaded as the number written, both as an amount and as a number
    assert rejected == []
    assert report.loaded == len(numbers)
    by_id = {r["plan_id"]: (r["monthly_fee"], r["data_gb"]) for r in loaded}
    for i, (value, _style) in enumerate(numbers):
        assert by_id[f"P{i}"] == (float(value), float(value))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(
        st.tuples(st.integers(min_value=-179, max_value=-1), st.integers(0, 99)),
        min_size=1,
        max_size=10,
    ),
    parentheses=st.booleans(),
)
def test_any_negative_number_in_an_accepted_form_loads_as_exactly_that_number(
    db: None, values: list[tuple[int, int]], parentheses: bool
) -> None:
    written = [f"{whole}.{cents:02d}" for whole, cents in values]
    texts = [f"({w[1:]})" if parentheses else f"-¥{w[1:]}" for w in written]
    rows = [_grid(f"G{i}", text) for i, text in enumerate(texts)]

    with tempfile.TemporaryDirectory() as folder:
        _report, loaded, rejected = _import(Path(folder), "grids", GRIDS_HEADER, rows)

    assert rejected == []
    assert {r["grid_id"]: r["centroid_lon"] for r in loaded} == {
        f"G{i}": float(w) for i, w in enumerate(written)
    }


DIGIT_RUNS = st.text(alphabet="0123456789", min_size=1, max_size=6)
REJECTED = st.one_of(
    # a comma between digits that is not a thousands separator: 12,34 or 1,2345
    st.tuples(st.integers(1, 999), st.sampled_from([1, 2, 4, 5])).map(
        lambda t: f"{t[0]},{'7' * t[1]}"
    ),
    # a decimal comma after dotted thousands: 1.234,50
    st.tuples(st.integers(1, 999), st.integers(0, 99)).map(lambda t: f"{t[0]}.234,{t[1]:02d}"),
    # a leading zero group, a space between groups, letters or a unit after the number
    DIGIT_RUNS.map(lambda d: f"0,{d}"),
    st.tuples(DIGIT_RUNS, DIGIT_RUNS).map(lambda t: f"{t[0]} {t[1]}"),
    st.tuples(DIGIT_RUNS, st.sampled_from(["GB", "分钟", "x", "万"])).map("".join),
    st.tuples(DIGIT_RUNS, DIGIT_RUNS, DIGIT_RUNS).map(lambda t: ".".join(t)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(REJECTED, min_size=1, max_size=10))
def test_any_number_written_in_another_form_is_quarantined_and_not_loaded(
    db: None, texts: list[str]
) -> None:
    # Given a good plan, and plans whose data allowance is written in a rejected form
    rows = [_plan("P0")] + [_plan(f"P{i + 1}", data=text) for i, text in enumerate(texts)]

    with tempfile.TemporaryDirectory() as folder:
        _report, loaded, rejected = _import(Path(folder), "plans", PLANS_HEADER, rows)

    # Then only the good one loaded, and each other is set aside as the wrong type, as written
    assert [r["plan_id"] for r in loaded] == ["P0"]
    assert _reasons(rejected) == {
        (i + 3, "data_gb"): (text, "type") for i, text in enumerate(texts)
    }


def _reference_amount(value: float | None, unit: str) -> float | None:
    """The fen rule as docs/imports.md states it, in Python: a whole number of fen (to the last
    bits of a DOUBLE) loads as yuan to the fen; non-finite values pass on, to be named."""
    if value is None:
        return None
    yuan = value / 100.0 if unit == "fen" else value
    if yuan != yuan or yuan in (float("inf"), float("-inf")):
        return yuan
    fen = yuan * 100
    if fen in (float("inf"), float("-inf")):
        return None  # beyond a DOUBLE in fen: inf - inf is NaN, and the SQL test is false
    if abs(fen - round(fen)) <= 1e-9 * max(1.0, abs(fen)):
        return float(duckdb.execute(f"SELECT round({yuan!r}::DOUBLE, 2)").fetchall()[0][0])
    return None


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.none(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(10**12), 10**12).map(lambda fen: fen / 100),
        st.integers(-(10**12), 10**12).map(float),
        st.decimals(-(10**6), 10**6, places=3).map(float),
    ),
    unit=st.sampled_from(["yuan", "fen"]),
)
def test_the_whole_fen_fast_path_gives_what_the_full_check_gives(
    value: float | None, unit: str
) -> None:
    # Given any DOUBLE the reader may type, in yuan or in fen
    from quanwang.data.values import amount_sql

    literal = "CAST(NULL AS DOUBLE)" if value is None else f"CAST({str(value)!r} AS DOUBLE)"
    # When the importer's SQL reads it
    loaded = duckdb.execute(f"SELECT {amount_sql(literal, unit)}").fetchall()[0][0]
    # Then it is what the rule says, NaN for NaN and NULL for a fraction of a fen
    expected = _reference_amount(value, unit)
    if expected is not None and expected != expected:
        assert loaded != loaded
    else:
        assert loaded == expected


@pytest.mark.parametrize("text", [" a ", "a", "", "   ", "\tb", "a  b", " 王五", "王五 "])
def test_surrounding_spaces_are_trimmed_and_nothing_else(text: str) -> None:
    # Given a text value; when the importer trims it; then only spaces at either end go
    from quanwang.data.values import trimmed_sql

    literal = "'" + text.replace("'", "''") + "'"
    trimmed = duckdb.execute(f"SELECT {trimmed_sql(literal)}").fetchall()[0][0]
    assert trimmed == (text.strip(" ") or None)
