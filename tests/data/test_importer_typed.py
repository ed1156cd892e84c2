"""The typed CSV read: columns read with their own type, rows it rejects converted from their
text, and the same table and quarantine file as reading every value as text (a typed value
that breaks a rule shows as the file has it: "-5.00", not the -5.0 read)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import pytest

from quanwang.data import scan as scanning
from quanwang.data.importer import ImportReport, import_file
from quanwang.data.scan import Scan
from quanwang.data.warehouse import Warehouse

PLANS_HEADER = "plan_id,name,plan_type,monthly_fee,data_gb,voice_minutes,is_5g\n"
SUBSCRIBER_HEADER = (
    "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id,birth_date\n"
)


def _clean_plans(first: int, count: int) -> str:
    return "".join(
        f"P{i},plan{i},postpaid,{i % 90 + 9.5},{i % 40},{i % 500},{'true' if i % 2 else 'false'}\n"
        for i in range(first, first + count)
    )


# Rows 2-201 and 216-815 clean (a typed read is chosen for columns where at most 1% of the
# values fail its cast); rows 202-215 hold every way a value can miss that cast or break a rule.
MESSY_PLANS = (
    PLANS_HEADER
    + _clean_plans(0, 200)
    + 'P900,千元套餐,postpaid,"1,234.50",30,500,true\n'  # row 202: recovered, 1234.5
    + "P901,元,postpaid,¥88,30,500,是\n"  # row 203: recovered, 88 and yes
    + "P902,半分钟,postpaid,10,30,12.5,true\n"  # row 204: 12.5 is not a whole number
    + "P903,整数,postpaid,10,30,300.0,true\n"  # row 205: 300
    + "P904,负流量,postpaid,10,-5.00,1,true\n"  # row 206: out of range, shown as written
    + "P905,空费,postpaid,,1,1,true\n"  # row 207: required value missing
    + "P906,空格费,postpaid,  ,1,1,true\n"  # row 208: recovered, then required
    + "P907,也许,postpaid,10,1,1,maybe\n"  # row 209: recovered, then not yes/no
    + "P908,多列,postpaid,10,1,1,true,extra\n"  # row 210: malformed
    + "P909,多列坏值,postpaid,abc,1,1,true,extra\n"  # row 211: malformed, not recovered
    + 'P910,"两\n行",postpaid,"2,000",1,1,否\n'  # row 212 (two lines): recovered
    + "P900,重复,postpaid,10,1,1,true\n"  # row 213: duplicate of recovered row 202
    + "P3,重复,postpaid,  ,1,1,true\n"  # row 214: recovered, duplicate of row 5
    + "P911, -3 ,postpaid,10, -3 ,1,true\n"  # row 215: out of range, shown as " -3 "
    + _clean_plans(1000, 600)
    + "P999,截断,post"  # last row: truncated
)


def _scans(monkeypatch: pytest.MonkeyPatch) -> list[Scan | None]:
    """Record what each typed read returned (None: it gave way to the text read)."""
    seen: list[Scan | None] = []
    typed_scan = scanning._typed_scan

    def spy(**kwargs: Any) -> Scan | None:
        scan = typed_scan(**kwargs)
        seen.append(scan)
        return scan

    monkeypatch.setattr(scanning, "_typed_scan", spy)
    return seen


def _load(
    tmp_path: Path, name: str, table: str, path: Path, **extra: Any
) -> tuple[ImportReport, list[tuple[Any, ...]], list[list[str]]]:
    store = Warehouse(tmp_path / name / "warehouse")
    report = import_file(
        table_name=table,
        path=path,
        warehouse=store,
        quarantine_dir=tmp_path / name / "quarantine",
        **extra,
    )
    rows = duckdb.sql(f"SELECT * FROM {store.relation(table)} ORDER BY ALL").fetchall()
    quarantine: list[list[str]] = []
    if report.quarantine_file:
        with open(report.quarantine_file, encoding="utf-8-sig") as handle:
            quarantine = list(csv.reader(handle))
    return report, rows, quarantine


def _as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # No share of failed casts is small enough: every column is read as text.
    monkeypatch.setattr(scanning, "PROBE_MAX_FAILURES", -1.0)


def _same_as_text(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    table: str,
    path: Path,
    *,
    before: dict[str, Path] | None = None,
) -> tuple[ImportReport, list[tuple[Any, ...]], list[list[str]]]:
    """Import `path` typed and as text into separate warehouses; both must give the same."""
    for name in ("typed", "text"):
        for earlier, earlier_path in (before or {}).items():
            _load(tmp_path, name, earlier, earlier_path)
    typed = _load(tmp_path, "typed", table, path)
    with monkeypatch.context() as patch:
        _as_text(patch)
        text = _load(tmp_path, "text", table, path)
    (typed_report, typed_rows, typed_quarantine), (text_report, text_rows, text_quarantine) = (
        typed,
        text,
    )
    assert typed_rows == text_rows
    # file, row, column, the value as the file has it, reason code and reasons
    assert typed_quarantine == text_quarantine
    for name in ("rows_read", "loaded", "quarantined", "by_reason", "unused_columns"):
        assert getattr(typed_report, name) == getattr(text_report, name), name
    return typed


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_rows_the_typed_read_rejects_are_converted_from_their_text_with_their_own_row_numbers(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str
) -> None:
    # Given a plan catalogue, mostly clean, with "1,234.50", ¥88, 是 and bad values in some rows
    path = tmp_path / "plans.csv"
    path.write_bytes(MESSY_PLANS.replace("\n", newline).encode())
    scans = _scans(monkeypatch)

    # When it is imported
    report, rows, quarantine = _same_as_text(tmp_path, monkeypatch, "plans", path)

    # Then the numbers and yes/no columns were read typed, and the rows they rejected recovered
    scan = scans[0]
    assert scan is not None
    assert set(scan.typed) == {"monthly_fee", "data_gb", "voice_minutes", "is_5g"}
    assert scan.recovered == [202, 203, 208, 209, 212, 214]
    loaded = {row[0]: row for row in rows}
    assert loaded["P900"][3] == 1234.5
    assert (loaded["P901"][3], loaded["P901"][6]) == (88.0, True)
    assert loaded["P903"][5] == 300
    assert loaded["P910"][3] == 2000.0
    # And each reject names its own row, with the value as the file had it (a row that cannot
    # be read, with its text)
    rejected = {(int(r[1]), r[2], r[3], r[4]) for r in quarantine[1:]}
    assert rejected == {
        (204, "voice_minutes", "12.5", "type"),
        (206, "data_gb", "-5.00", "range"),
        (207, "monthly_fee", "", "required"),
        (208, "monthly_fee", "  ", "required"),
        (209, "is_5g", "maybe", "type"),
        (210, "", "P908,多列,postpaid,10,1,1,true,extra", "malformed"),
        (211, "", "P909,多列坏值,postpaid,abc,1,1,true,extra", "malformed"),
        (213, "plan_id", "P900", "duplicate"),
        (214, "plan_id", "P3", "duplicate"),
        (214, "monthly_fee", "  ", "required"),
        (215, "data_gb", " -3 ", "range"),
        (816, "", "P999,截断,post", "malformed"),
    }
    reasons = {(int(r[1]), r[2]): r[6] for r in quarantine[1:]}
    assert reasons[(213, "plan_id")] == "duplicate key of row 202"
    assert reasons[(214, "plan_id")] == "duplicate key of row 5"
    assert report.rows_read == 815


def test_dates_the_typed_read_rejects_are_read_as_a_text_read_would(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given subscribers with ISO dates, and 2024/1/5, 20240105, 2024年1月5日 and bad dates
    plans = tmp_path / "plans.csv"
    plans.write_text(PLANS_HEADER + _clean_plans(0, 3), encoding="utf-8")
    lines = [
        f"S{i},138{i:08d},个人,prepaid,2021-{i % 12 + 1:02d}-05,active,P{i % 3},1990-01-01\n"
        for i in range(600)
    ]
    lines[10] = "S10,13800000010,个人,prepaid,2024/1/5,active,P1,\n"
    lines[20] = "S20,13800000020,个人,prepaid,20240105,active,P1,2024年1月5日\n"
    lines[25] = "S25,13800000025,个人,prepaid,2021-01-05,active,P1,45296\n"  # no mapping says so
    lines[26] = "S26,13800000026,个人,prepaid,24-01-05,active,P1,\n"  # the reader's year 24
    lines[30] = "S30,13800000030,个人,prepaid,2099-01-01,active,P1,\n"  # in the future
    lines[40] = "S40,13800000040,个人,prepaid,2024-01-05Z,active,P1,\n"  # not a date
    lines[50] = "S50,13800000050,个人,prepaid,2024-02-30,active,P9,\n"  # no such day or plan
    lines[60] = "S10,13800000060,个人,prepaid,2021-01-05,active,P1,\n"  # duplicate of S10
    path = tmp_path / "subscribers.csv"
    path.write_text(SUBSCRIBER_HEADER + "".join(lines), encoding="utf-8")
    scans = _scans(monkeypatch)

    # When it is imported
    _report, _rows, quarantine = _same_as_text(
        tmp_path, monkeypatch, "subscribers", path, before={"plans": plans}
    )

    # Then the dates were read typed and the others converted from text
    scan = scans[-1]
    assert scan is not None
    assert {"join_date", "birth_date"} <= set(scan.typed)
    joined = duckdb.sql(
        "SELECT subscriber_id, join_date, birth_date FROM "
        f"{Warehouse(tmp_path / 'typed' / 'warehouse').relation('subscribers')} "
        "WHERE subscriber_id IN ('S10', 'S20') ORDER BY 1"
    ).fetchall()
    assert [(s, str(j), str(b)) for s, j, b in joined] == [
        ("S10", "2024-01-05", "None"),
        ("S20", "2024-01-05", "2024-01-05"),
    ]
    rejected = {(int(r[1]), r[2], r[3], r[4]) for r in quarantine[1:]}
    assert rejected == {
        (27, "birth_date", "45296", "type"),
        (28, "join_date", "24-01-05", "type"),
        (32, "join_date", "2099-01-01", "future"),
        (42, "join_date", "2024-01-05Z", "type"),
        (52, "join_date", "2024-02-30", "type"),
        (52, "plan_id", "P9", "reference"),
        (62, "subscriber_id", "S10", "duplicate"),
    }


def test_a_column_whose_first_rows_mostly_fail_the_cast_is_read_as_text(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given fees written with thousands separators throughout, and clean other columns
    text = PLANS_HEADER + "".join(
        f'P{i},plan{i},postpaid,"1,{i % 1000:03d}.50",{i % 40},{i % 500},true\n' for i in range(300)
    )
    path = tmp_path / "plans.csv"
    path.write_text(text, encoding="utf-8")
    scans = _scans(monkeypatch)

    # When it is imported
    report, rows, _quarantine = _same_as_text(tmp_path, monkeypatch, "plans", path)

    # Then the probe chose text for the fees only, and nothing had to be recovered
    scan = scans[0]
    assert scan is not None
    assert set(scan.typed) == {"data_gb", "voice_minutes", "is_5g"}
    assert scan.recovered == []
    assert report.loaded == 300
    assert {row[0]: row[3] for row in rows}["P7"] == 1007.5


def test_a_file_whose_probe_fails_every_cast_is_read_as_text(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = PLANS_HEADER + "".join(
        f"P{i},plan{i},postpaid,¥{i},{i}GB,{i}分钟,是\n" for i in range(50)
    )
    path = tmp_path / "plans.csv"
    path.write_text(text, encoding="utf-8")
    scans = _scans(monkeypatch)

    report, _rows, quarantine = _same_as_text(tmp_path, monkeypatch, "plans", path)

    assert scans == []
    assert report.loaded == 0
    assert {r[2] for r in quarantine[1:]} == {"data_gb", "voice_minutes"}


def test_a_typed_read_rejecting_more_than_it_may_keep_gives_way_to_the_text_read(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a typed read that may record only two failed casts, and a probe that allows any
    monkeypatch.setattr(scanning, "PROBE_MAX_FAILURES", 1.0)
    monkeypatch.setattr(scanning, "TYPED_READ_MAX_REJECTS", 2)
    path = tmp_path / "plans.csv"
    path.write_bytes(MESSY_PLANS.encode())
    scans = _scans(monkeypatch)

    # When it is imported
    typed = _load(tmp_path, "typed", "plans", path)
    _as_text(monkeypatch)
    text = _load(tmp_path, "text", "plans", path)

    # Then the typed read was dropped and the result is the text read's
    assert scans == [None]
    assert typed[1:] == text[1:]


def test_a_gbk_file_is_read_typed_after_transcoding(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "套餐编码,套餐名称,套餐类型,月费(元),5G套餐\n" + "".join(
        f"P{i},畅享{i},postpaid,{i}.5,{'是' if i == 7 else 'true'}\n" for i in range(200)
    )
    path = tmp_path / "plans.csv"
    path.write_bytes(text.encode("gbk"))
    scans = _scans(monkeypatch)

    report, rows, _quarantine = _same_as_text(tmp_path, monkeypatch, "plans", path)

    scan = scans[0]
    assert scan is not None
    assert scan.recovered == [9]
    assert report.loaded == 200
    assert {row[0]: row[6] for row in rows}["P7"] is True


def test_numbers_too_large_or_not_finite_are_quarantined_by_the_typed_and_the_text_read(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given plans, mostly clean, with whole minutes of 1e30, ±inf, nan and 20 digits, and fees
    # and data of inf and nan
    path = tmp_path / "plans.csv"
    path.write_text(
        PLANS_HEADER
        + _clean_plans(0, 200)
        + "P900,大,postpaid,10,1,1e30,true\n"  # row 202
        + "P901,大,postpaid,10,1,99999999999999999999,true\n"  # row 203
        + "P902,负大,postpaid,10,1,-1e30,true\n"  # row 204
        + "P903,无穷,postpaid,10,1,inf,true\n"  # row 205
        + "P904,负无穷,postpaid,10,1,-inf,true\n"  # row 206
        + "P905,非数,postpaid,10,1,nan,true\n"  # row 207
        + "P906,费无穷,postpaid,inf,1,1,true\n"  # row 208
        + "P907,费非数,postpaid,NaN,1,1,true\n"  # row 209
        + "P908,流量负无穷,postpaid,10,-inf,1,true\n"  # row 210
        + _clean_plans(1000, 100),
        encoding="utf-8",
    )
    scans = _scans(monkeypatch)

    # When it is imported
    report, _rows, quarantine = _same_as_text(tmp_path, monkeypatch, "plans", path)

    # Then the numbers were read typed, and each such value is set aside with its reason
    scan = scans[0]
    assert scan is not None
    assert {"monthly_fee", "data_gb", "voice_minutes"} <= set(scan.typed)
    rejected = {(int(r[1]), r[2], r[4], r[6]) for r in quarantine[1:]}
    too_large = "too large: a whole number must lie within ±9223372036854775807"
    not_finite = "not a finite number (NaN or infinity)"
    assert rejected == {
        (202, "voice_minutes", "too_large", too_large),
        (203, "voice_minutes", "too_large", too_large),
        (204, "voice_minutes", "too_large", too_large),
        (205, "voice_minutes", "not_finite", not_finite),
        (206, "voice_minutes", "not_finite", not_finite),
        (207, "voice_minutes", "not_finite", not_finite),
        (208, "monthly_fee", "not_finite", not_finite),
        (209, "monthly_fee", "not_finite", not_finite),
        (210, "data_gb", "not_finite", not_finite),
    }
    assert report.loaded == 300
