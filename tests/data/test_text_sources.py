"""Reading text files (CSV/TXT): each row is loaded with exactly its value or quarantined with a
reason and its text, whatever the file's encoding, separator or row sizes. Real files, real
DuckDB; small files written by each test."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import translation
from hypothesis import example, given, settings
from hypothesis import strategies as st

from quanwang.data import scan as scanning
from quanwang.data import text_files
from quanwang.data.importer import ImportFailed, ImportReport, import_file
from quanwang.data.scan import Scan
from quanwang.data.sources import Delimiter, ReadOptions
from quanwang.data.text_files import Reading, gb18030_block, line_reading
from quanwang.data.warehouse import Warehouse

HEADER = ["plan_id", "name", "plan_type", "monthly_fee", "is_5g"]


def _plans(rows: list[tuple[str, str]], separator: str = ",") -> str:
    """A plan file of (plan_id, name) rows, the other columns filled in."""
    lines = [separator.join(HEADER)]
    lines += [separator.join([key, name, "postpaid", "10", "true"]) for key, name in rows]
    return "\n".join(lines) + "\n"


def _import(
    tmp_path: Path, path: Path, table: str = "plans", **options: Any
) -> tuple[ImportReport, dict[str, tuple[Any, ...]], list[dict[str, str]]]:
    """Import into a warehouse of the test's own; (report, rows by key, quarantine rows)."""
    store = Warehouse(tmp_path / "warehouse")
    report = import_file(
        table_name=table,
        path=path,
        warehouse=store,
        quarantine_dir=tmp_path / "quarantine",
        **options,
    )
    rows = duckdb.sql(f"SELECT * FROM {store.relation(table)}").fetchall()
    quarantine: list[dict[str, str]] = []
    if report.quarantine_file:
        with open(report.quarantine_file, encoding="utf-8-sig") as handle:
            quarantine = list(csv.DictReader(handle))
    # Every row read is loaded or quarantined, never both, never neither.
    assert report.rows_read == report.loaded + report.quarantined
    assert report.loaded == len(rows)
    return report, {row[0]: row for row in rows}, quarantine


def _names(rows: dict[str, tuple[Any, ...]]) -> dict[str, str]:
    return {key: row[1] for key, row in rows.items()}


# --- Encodings ---------------------------------------------------------------------------


def test_utf8_rows_in_a_gbk_file_load_with_their_own_chinese(tmp_path: Path) -> None:
    # Given a GBK export into which a few rows were pasted in UTF-8 (王五 would read 鐜嬩簲)
    gbk = [(f"P{i}", f"畅享{i}号") for i in range(20)]
    utf8 = [("U1", "王五"), ("U2", "5G畅享套餐"), ("U3", "张三·李四")]
    path = tmp_path / "plans.csv"
    with path.open("wb") as handle:
        handle.write(_plans(gbk[:10]).encode("gbk"))
        handle.write(_plans(utf8).split("\n", 1)[1].encode("utf-8"))
        handle.write(_plans(gbk[10:]).split("\n", 1)[1].encode("gbk"))

    # When it is imported without naming an encoding
    _report, rows, quarantine = _import(tmp_path, path)

    # Then every row loaded with its own text, the UTF-8 ones decoded as UTF-8
    assert _names(rows) == dict(gbk + utf8)
    assert quarantine == []


def test_a_row_that_reads_as_chinese_in_both_encodings_is_quarantined_not_guessed(
    tmp_path: Path,
) -> None:
    # Given a GBK file with a UTF-8 row whose bytes are common Chinese in GBK too (许强 in UTF-8
    # reads 璁稿己 in GBK), and one that decodes in neither
    path = tmp_path / "plans.csv"
    with path.open("wb") as handle:
        handle.write(_plans([("P1", "畅享"), ("P2", "乐享")]).encode("gbk"))
        handle.write("P3,许强,postpaid,10,true\n".encode())
        handle.write(b"P4,\x81\x20bad,postpaid,10,true\n")
        handle.write("P5,尊享,postpaid,10,true\n".encode("gbk"))

    # When it is imported
    with translation.override("en"):
        report, rows, quarantine = _import(tmp_path, path)

    # Then neither is loaded as a guess: both are quarantined as in another encoding
    assert _names(rows) == {"P1": "畅享", "P2": "乐享", "P5": "尊享"}
    assert [(r["row"], r["reason_code"]) for r in quarantine] == [
        ("4", "encoding"),
        ("5", "encoding"),
    ]
    assert {r["reason_en"] for r in quarantine} == {"this row is in another encoding"}
    assert {r["reason_zh"] for r in quarantine} == {"此行的编码与文件其余部分不同"}
    assert quarantine[1]["value"].startswith("P4,")
    assert report.by_reason == {"encoding": 2}


def test_a_gbk_row_in_a_utf8_file_is_quarantined_and_the_others_load(tmp_path: Path) -> None:
    # Given a UTF-8 file with one GBK row among its first lines (detection reads them)
    path = tmp_path / "plans.csv"
    rows_utf8 = [(f"P{i}", f"畅享{i}") for i in range(10)]
    with path.open("wb") as handle:
        handle.write(_plans(rows_utf8[:3]).encode())
        handle.write("PG,乐享,postpaid,10,true\n".encode("gbk"))
        handle.write(_plans(rows_utf8[3:]).split("\n", 1)[1].encode())

    # When it is imported
    _report, rows, quarantine = _import(tmp_path, path)

    # Then the UTF-8 rows load unchanged and the GBK row is quarantined, not garbled
    assert _names(rows) == dict(rows_utf8)
    assert [(r["row"], r["reason_code"]) for r in quarantine] == [("5", "encoding")]
    assert quarantine[0]["reason_en"] == "this row is in another encoding"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_utf8_rows_in_a_gbk_file_with_cr_lf_or_cr_line_ends_load_too(
    tmp_path: Path, newline: str
) -> None:
    # Given a GBK file with a UTF-8 row, its lines ending in CR LF, or in CR (Excel for Mac)
    path = tmp_path / "plans.csv"
    text_gbk = _plans([("P1", "畅享"), ("P2", "乐享")]).replace("\n", newline)
    path.write_bytes(text_gbk.encode("gbk") + f"U1,王五,postpaid,10,true{newline}".encode())

    _report, rows, quarantine = _import(tmp_path, path)

    assert _names(rows) == {"P1": "畅享", "P2": "乐享", "U1": "王五"}
    assert quarantine == []


def test_a_row_in_another_encoding_and_with_a_field_too_many_is_quarantined_for_its_encoding(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plans.csv"
    path.write_bytes(
        _plans([("P1", "畅享")]).encode() + "P2,乐享,postpaid,10,true,extra\n".encode("gbk")
    )

    _report, rows, quarantine = _import(tmp_path, path)

    assert sorted(rows) == ["P1"]
    assert [(r["row"], r["reason_code"]) for r in quarantine] == [("3", "encoding")]


# Text a row may hold: ASCII, common and rare Chinese characters, the middle dot of names.
ROW_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
        st.sampled_from("·，。、王五张三李四陈伟畅享套餐许强喆堃"),
    ),
    max_size=24,
)


@settings(max_examples=400, deadline=None)
@given(text=ROW_TEXT, encoding=st.sampled_from(["gbk", "utf-8"]))
# GBK lines that are valid UTF-8 reading as common ideographs (晁, 冁) or extension A (㯁)
@example(text="鏅亃W", encoding="gbk")
@example(text="D鍐乥", encoding="gbk")
@example(text="惘乛", encoding="gbk")
def test_a_line_of_a_gbk_file_reads_as_its_own_text_or_is_set_aside(
    text: str, encoding: str
) -> None:
    # Given a line in GBK or in UTF-8 in a file read as GB18030
    try:
        line = text.encode(encoding)
    except UnicodeEncodeError:
        return  # not a GBK character: such a line is never written in GBK
    if encoding == "utf-8" and not any(ord(c) >= 0x800 for c in text):
        return  # no Chinese character: read as GBK (docs/imports.md: · alone reads 路)

    # When it is transcoded
    out = gb18030_block(line + b"\n")

    # Then it is its own text in UTF-8, or invalid UTF-8 that the reader quarantines
    if out != (text + "\n").encode():
        with pytest.raises(UnicodeDecodeError):
            out.decode("utf-8")


def test_each_reading_of_a_line_of_a_gbk_file() -> None:
    assert line_reading("王五,畅享".encode("gbk")) is Reading.FILE
    assert line_reading("王五,畅享".encode()) is Reading.UTF8
    assert line_reading("许强".encode()) is Reading.NEITHER  # 璁稿己 in GBK
    assert line_reading(b"P4,\x81\x20") is Reading.NEITHER
    assert line_reading(b"P1,ok") is Reading.FILE


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b"")],
)
def test_a_utf16_file_excel_unicode_text_is_read(tmp_path: Path, encoding: str, bom: bytes) -> None:
    # Given Excel's "Unicode text": UTF-16, tab-separated, with (or without) a byte-order mark
    path = tmp_path / "plans.txt"
    text = _plans([("P1", "畅享"), ("P2", "乐享 5G")], separator="\t").replace("\n", "\r\n")
    path.write_bytes(bom + text.encode(encoding))

    # When it is imported without naming encoding or separator
    _report, rows, quarantine = _import(tmp_path, path)

    # Then it loads
    assert _names(rows) == {"P1": "畅享", "P2": "乐享 5G"}
    assert quarantine == []


def test_a_row_of_a_utf16_file_that_does_not_decode_is_quarantined(tmp_path: Path) -> None:
    # Given a UTF-16 file with an unpaired surrogate in one row
    path = tmp_path / "plans.txt"
    good = _plans([("P1", "畅享"), ("P2", "乐享")], separator="\t")
    path.write_bytes(
        b"\xff\xfe" + good.encode("utf-16-le") + "P3\t".encode("utf-16-le") + b"\x00\xd8"
        + "\tpostpaid\t10\ttrue\nP4\t尊享\tpostpaid\t10\ttrue\n".encode("utf-16-le")
    )  # fmt: skip

    _report, rows, quarantine = _import(tmp_path, path)

    assert _names(rows) == {"P1": "畅享", "P2": "乐享", "P4": "尊享"}
    assert [(r["row"], r["reason_code"]) for r in quarantine] == [("4", "encoding")]


def test_a_gbk_file_ascii_for_its_first_megabytes_is_detected_by_its_later_rows(
    tmp_path: Path,
) -> None:
    # Given a GBK file whose first 2 MB hold no Chinese
    path = tmp_path / "plans.csv"
    ascii_rows = [(f"A{i}", f"plan {i}") for i in range(60_000)]
    path.write_bytes(_plans([*ascii_rows, ("P1", "畅享")]).encode("gbk"))

    _report, rows, quarantine = _import(tmp_path, path)

    assert rows["P1"][1] == "畅享"
    assert quarantine == []


def test_a_workbook_renamed_csv_is_named_as_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "plans.csv"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")

    with translation.override("en"), pytest.raises(ImportFailed) as failed:
        _import(tmp_path, path)

    assert str(failed.value) == (
        "plans.csv looks like an Excel workbook (zip), not a CSV: rename it .xlsx"
    )


@pytest.mark.parametrize(
    "content", [b"\x00\x01\x02\x03binary\x00" * 100, b"\x1f\x8b\x08\x00gzip", b"%PDF-1.7\n"]
)
def test_a_binary_file_is_named_as_binary_not_as_a_bad_encoding(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "plans.csv"
    path.write_bytes(content)

    with translation.override("en"), pytest.raises(ImportFailed) as failed:
        _import(tmp_path, path)

    assert str(failed.value) == "plans.csv is a binary file, not text"


# --- Separators ---------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\t", ";", "|"])
def test_a_file_separated_by_tabs_semicolons_or_pipes_is_detected(
    tmp_path: Path, separator: str
) -> None:
    # Given a file separated otherwise than by commas, with commas inside its values
    path = tmp_path / "plans.csv"
    path.write_text(_plans([("P1", "畅享, 5G"), ("P2", "乐享")], separator), encoding="utf-8")

    _report, rows, quarantine = _import(tmp_path, path)

    assert _names(rows) == {"P1": "畅享, 5G", "P2": "乐享"}
    assert quarantine == []


def test_a_named_separator_is_used_where_detection_would_choose_another(tmp_path: Path) -> None:
    # Given a tab-separated file whose names hold six semicolons each, header included, so that
    # semicolons split it into more columns than tabs do
    path = tmp_path / "plans.txt"
    name = "name;a;b;c;d;e;f"
    text = (
        f"plan_id\t{name}\tplan_type\tmonthly_fee\tis_5g\n"
        "P1\t畅享;1;2;3;4;5;6\tpostpaid\t10\ttrue\n"
    )
    path.write_text(text, encoding="utf-8")
    mapping = {"columns": {"name": {"from": name}}}

    # When it is imported naming the tab
    _report, rows, _ = _import(
        tmp_path, path, mapping=mapping, options=ReadOptions(delimiter=Delimiter.TAB)
    )

    # Then the tab separates it
    assert _names(rows) == {"P1": "畅享;1;2;3;4;5;6"}


def test_rows_the_typed_read_rejects_in_a_tab_file_are_recovered_with_tabs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a tab-separated file whose fees are numbers but for "1,234.50" and ¥88 in two rows
    rows_in = [["P" + str(i), f"套餐{i}", "postpaid", str(10 + i), "true"] for i in range(300)]
    rows_in[100][3], rows_in[200][3] = "1,234.50", "¥88"
    path = tmp_path / "plans.tsv.txt"
    path.write_text(
        "\n".join("\t".join(row) for row in [HEADER, *rows_in]) + "\n", encoding="utf-8"
    )
    scans: list[Scan | None] = []
    typed_scan = scanning._typed_scan

    def spy(**kwargs: Any) -> Scan | None:
        scans.append(typed_scan(**kwargs))
        return scans[-1]

    monkeypatch.setattr(scanning, "_typed_scan", spy)

    # When it is imported
    report, rows, _quarantine = _import(tmp_path, path)

    # Then the typed read's rejected rows were re-read with tabs and loaded
    assert scans
    assert scans[0] is not None
    assert scans[0].recovered == [102, 202]
    assert (rows["P100"][3], rows["P200"][3]) == (1234.5, 88.0)
    assert report.loaded == 300


def test_a_long_row_the_typed_read_rejects_loads_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a typed read, and a row of 60 KB whose fee it cannot cast: the reader keeps only
    # 10,000 bytes of a rejected row's text
    rows_in = [[f"P{i}", f"套餐{i}", "postpaid", "10", "true"] for i in range(300)]
    rows_in[100][1:4] = ["长" * 20_000, "postpaid", "1,234.50"]
    path = tmp_path / "plans.csv"
    path.write_text("\n".join(",".join(f'"{v}"' for v in row) for row in [HEADER, *rows_in]))

    _report, rows, quarantine = _import(tmp_path, path)

    # Then it loads whole, not cut where the reader's copy of it ends
    assert rows["P100"][1] == "长" * 20_000
    assert rows["P100"][3] == 1234.5
    assert quarantine == []


# --- Row sizes and malformed rows -----------------------------------------------------------


def test_a_row_longer_than_a_row_may_be_is_quarantined_with_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given rows may have 1 MB here, and a file with a 3 MB row and a 0.9 MB row
    monkeypatch.setattr(text_files, "ROW_MAX_BYTES", 1 << 20)
    path = tmp_path / "plans.csv"
    path.write_text(
        _plans([("P1", "畅享"), ("P2", "x" * (3 << 20)), ("P3", "y" * 900_000), ("P4", "乐享")]),
        encoding="utf-8",
    )

    # When it is imported
    report, rows, quarantine = _import(tmp_path, path)

    # Then the long row is quarantined, its start kept, and the others load whole
    assert sorted(rows) == ["P1", "P3", "P4"]
    assert len(rows["P3"][1]) == 900_000
    [long_row] = quarantine
    assert (long_row["row"], long_row["reason_code"]) == ("3", "malformed")
    assert (
        long_row["reason_en"]
        == "malformed row: a row of 3 MB is longer than the 1 MB a row may have"
    )
    assert long_row["reason_zh"] == "行格式错误：这一行有 3 MB，超过了一行最多 1 MB 的限制"
    assert long_row["value"] == "P2," + "x" * 2045
    assert report.rows_read == 4


def test_a_long_row_of_a_gbk_file_is_streamed_through_and_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given rows may have 1 MB, a GBK file is read in blocks of 64 KB, and it has a 3 MB row
    monkeypatch.setattr(text_files, "ROW_MAX_BYTES", 1 << 20)
    monkeypatch.setattr(text_files, "CHUNK_BYTES", 64 << 10)
    path = tmp_path / "plans.csv"
    path.write_bytes(
        _plans([("P1", "畅享"), ("P2", "长" * (3 << 19)), ("P3", "乐享")]).encode("gbk")
    )

    _report, rows, quarantine = _import(tmp_path, path)

    assert _names(rows) == {"P1": "畅享", "P3": "乐享"}
    assert [(r["row"], r["reason_code"]) for r in quarantine] == [("3", "malformed")]
    assert quarantine[0]["value"].startswith("P2,长长长")


def test_a_row_of_40_mb_is_counted_not_lost(tmp_path: Path) -> None:
    # Given a row longer than the reader's 32 MB buffer, which its defaults let vanish
    path = tmp_path / "plans.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(_plans([("P1", "畅享")]))
        handle.write("P2," + "x" * (40 << 20) + ",postpaid,10,true\n")
        handle.write("P3,乐享,postpaid,10,true\n")

    report, rows, quarantine = _import(tmp_path, path)

    assert sorted(rows) == ["P1", "P3"]
    assert [(r["row"], r["reason_code"]) for r in quarantine] == [("3", "malformed")]
    assert "a row of 40 MB is longer than the 32 MB a row may have" in quarantine[0]["reason_en"]
    assert report.rows_read == 3


def test_a_header_row_longer_than_a_row_may_be_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given rows may have 1 MB, and a file that is one line of 3 MB (no line break at all)
    monkeypatch.setattr(text_files, "ROW_MAX_BYTES", 1 << 20)
    path = tmp_path / "plans.csv"
    path.write_bytes(b"plan_id," + b"x" * (3 << 20))

    with translation.override("en"), pytest.raises(ImportFailed) as failed:
        _import(tmp_path, path)

    assert str(failed.value) == (
        "plans.csv, row 1: a row of 3 MB is longer than the 1 MB a row may have"
    )


@pytest.mark.parametrize(
    ("last_line", "reason_en"),
    [
        (
            'P3,"乐享,postpaid,10,true\n',
            "malformed row: a quote is opened and never closed; all that follows it is read "
            "as one value",
        ),
        ("P3,乐享,post", "malformed row: 3 fields where 5 are expected (a truncated row?)"),
    ],
)
def test_a_malformed_row_is_quarantined_with_its_text(
    tmp_path: Path, last_line: str, reason_en: str
) -> None:
    path = tmp_path / "plans.csv"
    path.write_text(_plans([("P1", "畅享"), ("P2", "尊享")]) + last_line, encoding="utf-8")

    _report, rows, quarantine = _import(tmp_path, path)

    assert sorted(rows) == ["P1", "P2"]
    [bad] = quarantine
    assert (bad["row"], bad["reason_code"], bad["reason_en"]) == ("4", "malformed", reason_en)
    assert bad["value"] == last_line.strip("\n")
