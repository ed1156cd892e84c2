"""The importer's one promise, as a property: every row of the file is either loaded with
exactly its value, or quarantined with a reason; never both, never neither, never changed.

Hypothesis writes plans files that mix the cases operators' exports bring (GBK or UTF-8 with a
row in the other encoding, tab/semicolon/comma separators, CRLF, thousands separators, currency
signs, full-width digits, 是/否, bad numbers, bad choices, duplicate keys, empty required values),
and a small reference model (the documented parsing rules, docs/imports.md "Parsing rules")
says what each row must become.
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.data.importer import import_file
from quanwang.data.warehouse import Warehouse

HEADER = ["plan_id", "name", "plan_type", "monthly_fee", "data_gb", "voice_minutes", "is_5g"]
NAMES = ["5G畅享129", "4G日租卡", "王五的套餐", "融合宽带,家庭版", "冰激凌 199", "校园卡"]
PLAN_TYPES = ("prepaid", "postpaid", "broadband", "iptv", "bundle")
TRUE_WORDS = ("1", "true", "TRUE", "yes", "Y", "是", "√", "on")
FALSE_WORDS = ("0", "false", "False", "no", "N", "否", "×", "off")
FULL_WIDTH = str.maketrans("0123456789.,", "０１２３４５６７８９．，")


@dataclass(frozen=True)
class Cell:
    text: str  # as written in the file
    value: Any  # what the table must hold; None for an empty cell
    reason: str | None = None  # the reason code the row must carry, if this cell is bad


def _grouped(whole: int) -> str:
    return f"{whole:,}"


@st.composite
def amounts(draw: st.DrawFn) -> Cell:
    """monthly_fee: money in yuan, required, at least 0."""
    kind = draw(
        st.sampled_from(["plain", "grouped", "yuan_sign", "yuan_word", "full", "bad", "neg"])
    )
    cents = draw(st.integers(min_value=0, max_value=9_999_999))
    value = Decimal(cents) / 100
    plain = f"{value:.2f}"
    whole, fraction = plain.split(".")
    if kind == "plain":
        return Cell(plain, value)
    if kind == "grouped":
        return Cell(f"{_grouped(int(whole))}.{fraction}", value)
    if kind == "yuan_sign":
        return Cell(draw(st.sampled_from(["¥", "￥"])) + plain, value)
    if kind == "yuan_word":
        return Cell(plain + "元", value)
    if kind == "full":
        return Cell(plain.translate(FULL_WIDTH), value)
    if kind == "neg":  # (1,234.00) is negative: below the minimum
        return Cell(f"({_grouped(int(whole) + 1)}.{fraction})", None, "range")
    bad = draw(st.sampled_from(["12,34", "1.234,50", "0,5", "abc", "1..2", "12.345", "--1"]))
    return Cell(bad, None, "type")


@st.composite
def minutes(draw: st.DrawFn) -> Cell:
    """voice_minutes: a whole number, optional, at least 0."""
    kind = draw(st.sampled_from(["plain", "grouped", "full", "empty", "fraction", "negative"]))
    n = draw(st.integers(min_value=0, max_value=5_000_000))
    if kind == "plain":
        return Cell(str(n), n)
    if kind == "grouped":
        return Cell(_grouped(n), n)
    if kind == "full":
        return Cell(str(n).translate(FULL_WIDTH), n)
    if kind == "empty":
        return Cell("", None)
    if kind == "fraction":
        return Cell(f"{n}.5", None, "type")
    return Cell(f"-{n + 1}", None, "range")


@st.composite
def flags(draw: st.DrawFn) -> Cell:
    """is_5g: yes/no, required."""
    kind = draw(st.sampled_from(["true", "false", "empty", "bad"]))
    if kind == "true":
        return Cell(draw(st.sampled_from(TRUE_WORDS)), True)
    if kind == "false":
        return Cell(draw(st.sampled_from(FALSE_WORDS)), False)
    if kind == "empty":
        return Cell("", None, "required")
    return Cell(draw(st.sampled_from(["maybe", "是的", "2"])), None, "type")


@st.composite
def plan_types(draw: st.DrawFn) -> Cell:
    if draw(st.integers(0, 9)) == 0:
        return Cell("gold", None, "choice")
    chosen = draw(st.sampled_from(PLAN_TYPES))
    return Cell(chosen, chosen)


@st.composite
def rows(draw: st.DrawFn, index: int) -> list[Cell]:
    # One key in eight repeats an earlier one: the later row is the duplicate.
    key = f"P{draw(st.integers(0, index))}" if draw(st.integers(0, 7)) == 0 else f"P{index}"
    name = draw(st.sampled_from(NAMES))
    data_gb = draw(
        st.one_of(
            st.just(Cell("", None)), st.integers(0, 500).map(lambda n: Cell(str(n), float(n)))
        )
    )
    return [
        Cell(key, key),
        Cell(name, name),
        draw(plan_types()),
        draw(amounts()),
        data_gb,
        draw(minutes()),
        draw(flags()),
    ]


@st.composite
def files(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(min_value=1, max_value=25))
    return {
        "rows": [draw(rows(i)) for i in range(count)],
        "encoding": draw(st.sampled_from(["utf-8", "gbk"])),
        # A row written in the other encoding (a file pasted together from two exports).
        "foreign_row": draw(st.one_of(st.none(), st.integers(0, count - 1))),
        "delimiter": draw(st.sampled_from([",", "\t", ";"])),
        "newline": draw(st.sampled_from(["\n", "\r\n"])),
    }


def _write(path: Path, spec: dict[str, Any]) -> None:
    def line(cells: list[str]) -> str:
        out = []
        for cell in cells:
            needs_quotes = any(c in cell for c in (spec["delimiter"], '"', ",", "\n"))
            out.append('"' + cell.replace('"', '""') + '"' if needs_quotes else cell)
        return spec["delimiter"].join(out) + spec["newline"]

    other = "gbk" if spec["encoding"] == "utf-8" else "utf-8"
    data = line(HEADER).encode(spec["encoding"])
    for number, row in enumerate(spec["rows"]):
        encoding = other if number == spec["foreign_row"] else spec["encoding"]
        # ¥ (U+00A5) has no GBK code; GBK exports write the full-width ￥.
        texts = [c.text.replace("¥", "￥") if encoding == "gbk" else c.text for c in row]
        data += line(texts).encode(encoding)
    path.write_bytes(data)


def _expected(spec: dict[str, Any]) -> dict[int, tuple[list[Any], set[str]]]:
    """File row (header = 1) → (the values the table must hold, the reasons it must carry)."""
    seen: set[str] = set()
    expected = {}
    for number, row in enumerate(spec["rows"]):
        reasons = {c.reason for c in row if c.reason}
        key = row[0].value
        if key in seen:
            reasons.add("duplicate")
        seen.add(key)
        expected[number + 2] = ([c.value for c in row], reasons)
    return expected


@settings(
    max_examples=int(os.environ.get("QUANWANG_INVARIANT_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=files())
def test_every_row_is_loaded_exactly_or_quarantined_with_its_reason(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "plans.csv"
        _write(path, spec)
        store = Warehouse(root / "warehouse")

        # When the file is imported (a replace: the table is what the file holds)
        report = import_file(
            table_name="plans",
            path=path,
            warehouse=store,
            quarantine_dir=root / "quarantine",
            allow_empty=True,
            confirm_replace=True,
        )

        # Then every row is counted once: loaded or quarantined
        expected = _expected(spec)
        assert report.rows_read == len(expected)
        assert report.loaded + report.quarantined == report.rows_read
        quarantined: dict[int, set[str]] = {}
        if report.quarantine_file:
            with open(report.quarantine_file, encoding="utf-8-sig") as handle:
                for entry in csv.DictReader(handle):
                    assert entry["reason_code"], entry
                    quarantined.setdefault(int(entry["row"]), set()).add(entry["reason_code"])
        assert len(quarantined) == report.quarantined
        loaded = {
            row[0]: list(row)
            for row in duckdb.sql(
                f"SELECT {', '.join(HEADER)} FROM {store.relation('plans')}"
            ).fetchall()
        }
        assert len(loaded) == report.loaded

        for number, (values, reasons) in expected.items():
            # In a file of two encodings, which one is "the file's" is the importer's call (a
            # two-row file has one row of each): any row with non-ASCII text may be the one set
            # aside for its encoding. A loaded row is still checked to the letter below.
            row_text = "".join(c.text for c in spec["rows"][number - 2])
            foreign = spec["foreign_row"] is not None and not row_text.isascii()
            # A key first seen on a row set aside for its encoding is no duplicate: that row
            # was never read.
            earlier = [n for n, (v, _) in expected.items() if n < number and v[0] == values[0]]
            if all("encoding" in quarantined.get(n, set()) for n in earlier):
                reasons = reasons - {"duplicate"}
            if number in quarantined:
                # A bad row carries its reasons; a good row is set aside only for its encoding,
                # never in silence.
                got = quarantined[number]
                assert reasons <= got or (foreign and "encoding" in got), (number, reasons, got)
                continue
            # Loaded: it broke no rule, and every value is exactly the file's
            assert not reasons, (number, reasons)
            stored = loaded[values[0]]
            assert stored[0] == values[0]
            assert stored[1] == values[1]
            assert stored[2] == values[2]
            assert Decimal(str(stored[3])) == values[3]
            assert stored[4] == values[4]
            assert stored[5] == values[5]
            assert stored[6] is values[6]
