"""Evaluating an experiment from a file: a file shaped like Kevin Hillstrom's MineThatData
e-mail experiment (64,000 customers; segment = Mens E-Mail / Womens E-Mail / No E-Mail;
visit, conversion, spend), generated here so that the tests need no network."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from scipy import stats

from quanwang.campaigns.evaluation import newcombe_interval
from quanwang.campaigns.experiment_report import (
    ReportColumn,
    ReportKind,
    display_rows,
    report_bytes,
)
from quanwang.campaigns.experiment_stats import (
    IntervalMethod,
    LiftCaveat,
    Measure,
    mean_lift,
    rate_lift,
)
from quanwang.campaigns.experiments import (
    ExperimentDesign,
    ExperimentError,
    ExperimentResult,
    evaluate_file,
    summarise_file,
)
from quanwang.core.choices import Role
from quanwang.core.uploads import uploads_dir
from tests import factories
from tests.campaigns.conftest import marketer

HILLSTROM_COLUMNS = [
    "recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
    "channel", "segment", "visit", "conversion", "spend",
]  # fmt: skip
# The real experiment's rates (Hillstrom 2008): visits 18.3% / 15.1% / 10.6%, conversions
# 1.25% / 0.88% / 0.57%; a buyer spends about $115, skewed.
VISIT = {"Mens E-Mail": 0.183, "Womens E-Mail": 0.151, "No E-Mail": 0.106}
CONVERSION_OF_VISITORS = {"Mens E-Mail": 0.068, "Womens E-Mail": 0.058, "No E-Mail": 0.054}
DESIGN = ExperimentDesign(
    group="segment",
    treated="Mens E-Mail",
    control="No E-Mail",
    outcomes=("visit", "conversion"),
    revenue=("spend",),
)


def hillstrom(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    segment = rng.choice(list(VISIT), rows)
    visit = rng.random(rows) < np.vectorize(VISIT.get)(segment)
    conversion = visit & (rng.random(rows) < np.vectorize(CONVERSION_OF_VISITORS.get)(segment))
    spend = np.where(conversion, np.round(rng.lognormal(4.5, 0.6, rows), 2), 0.0)
    history = np.round(rng.lognormal(5.0, 1.0, rows), 2)
    bands = ["1) $0 - $100", "2) $100 - $200", "3) $200 - $350", "4) $350 - $500"]
    return pa.table(
        {
            "recency": rng.integers(1, 13, rows),
            "history_segment": [bands[min(3, int(h // 150))] for h in history],
            "history": history,
            "mens": rng.integers(0, 2, rows),
            "womens": rng.integers(0, 2, rows),
            "zip_code": rng.choice(["Urban", "Suburban", "Rural"], rows),
            "newbie": rng.integers(0, 2, rows),
            "channel": rng.choice(["Phone", "Web", "Multichannel"], rows),
            "segment": segment,
            "visit": visit.astype(np.int64),
            "conversion": conversion.astype(np.int64),
            "spend": spend,
        }
    )


def write(table: pa.Table, path: Path) -> Path:
    """The table as the file a user would have: CSV, Parquet or XLSX by the suffix."""
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".xlsx":
        book = Workbook()
        sheet = book.active
        sheet.append(table.column_names)
        for row in table.to_pylist():
            sheet.append(list(row.values()))
        book.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.column_names)
            writer.writerows(list(row.values()) for row in table.to_pylist())
    return path


def arm(table: pa.Table, value: str, column: str) -> np.ndarray:
    segment = np.asarray(table.column("segment").to_pylist())
    return np.asarray(table.column(column).to_pylist(), dtype=float)[segment == value]


def test_the_lifts_are_the_textbook_figures_of_the_file(tmp_path: Path) -> None:
    # Given a Hillstrom-shaped file of 6,000 customers (three arms)
    table = hillstrom(6000)
    path = write(table, tmp_path / "hillstrom.csv")

    # When Mens E-Mail is evaluated against No E-Mail
    result = evaluate_file(path=path, design=DESIGN)

    # Then the Womens E-Mail rows are left out, and each figure is what a textbook gives
    treated = {c: arm(table, "Mens E-Mail", c) for c in ("visit", "conversion", "spend")}
    control = {c: arm(table, "No E-Mail", c) for c in ("visit", "conversion", "spend")}
    assert (result.treated_rows, result.control_rows) == (
        treated["visit"].size,
        control["visit"].size,
    )
    assert result.other_rows == 6000 - treated["visit"].size - control["visit"].size > 1500
    visit, conversion, spend = result.lifts
    assert visit.measure == conversion.measure == Measure.RATE
    assert spend.measure == Measure.MEAN
    assert visit.difference == pytest.approx(treated["visit"].mean() - control["visit"].mean())
    assert visit.difference_ci == newcombe_interval(
        treated=(int(treated["visit"].sum()), treated["visit"].size),
        control=(int(control["visit"].sum()), control["visit"].size),
        confidence=0.95,
    )
    assert visit.significant
    assert visit.relative == pytest.approx(treated["visit"].mean() / control["visit"].mean() - 1)
    welch = stats.ttest_ind(treated["spend"], control["spend"], equal_var=False)
    expected = welch.confidence_interval(0.95)
    assert spend.difference == pytest.approx(treated["spend"].mean() - control["spend"].mean())
    assert spend.difference_ci is not None
    assert (spend.difference_ci.low, spend.difference_ci.high) == pytest.approx(
        (expected.low, expected.high)
    )
    assert spend.difference_method == IntervalMethod.WELCH
    # ~2,000 customers an arm at ~1% conversion: a few dozen buyers, said so
    assert LiftCaveat.FEW_NONZERO in spend.caveats


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_parquet_and_xlsx_files_give_the_same_lifts_as_csv(tmp_path: Path, suffix: str) -> None:
    # Given the same experiment as CSV and as another format
    table = hillstrom(1500, seed=3)
    from_csv = evaluate_file(path=write(table, tmp_path / "e.csv"), design=DESIGN)

    # When the other file is evaluated
    other = evaluate_file(path=write(table, tmp_path / f"e{suffix}"), design=DESIGN)

    # Then every figure is the same
    assert other.lifts == from_csv.lifts
    assert other.rows == 1500


def test_the_command_prints_the_lifts_and_writes_the_report_beside_the_file(
    tmp_path: Path,
) -> None:
    # Given a Hillstrom-shaped CSV
    path = write(hillstrom(3000), tmp_path / "hillstrom.csv")
    out = io.StringIO()

    # When the command evaluates it
    call_command(
        "evaluate-experiment", str(path), "--group", "segment", "--treated", "Mens E-Mail",
        "--control", "No E-Mail", "--outcome", "visit,conversion", "--revenue", "spend",
        stdout=out,
    )  # fmt: skip

    # Then it prints each outcome and writes a private XLSX beside the file
    printed = out.getvalue()
    for name in (
        "visit",
        "conversion",
        "spend",
        "Mens E-Mail",
        "No E-Mail",
        "hillstrom-lifts.xlsx",
    ):
        assert name in printed
    report = tmp_path / "hillstrom-lifts.xlsx"
    assert report.stat().st_mode & 0o777 == 0o600
    sheet = load_workbook(report).worksheets[0]
    header = [c.value for c in sheet[1]]
    rows = {
        row[2]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(2, values_only=True)
    }
    assert set(rows) == {"visit", "conversion", "spend"}
    expected = evaluate_file(path=path, design=DESIGN).lifts[0]
    visit = rows["visit"]
    assert visit[str(ReportColumn.LIFT.label)] == pytest.approx(expected.difference)
    assert visit[str(ReportColumn.LIFT_LOW.label)] == pytest.approx(expected.difference_ci.low)
    assert visit[str(ReportColumn.LIFT_HIGH.label)] == pytest.approx(expected.difference_ci.high)


def test_out_names_a_csv_report(tmp_path: Path) -> None:
    # Given a file and a CSV report asked for elsewhere
    path = write(hillstrom(1200), tmp_path / "e.parquet")
    out = tmp_path / "reports" / "lifts.csv"

    # When the command runs
    call_command(
        "evaluate-experiment", str(path), "--group", "segment", "--treated", "Womens E-Mail",
        "--control", "No E-Mail", "--revenue", "spend", "--out", str(out), stdout=io.StringIO(),
    )  # fmt: skip

    # Then the CSV has a header and one row, spend's, with the arms named
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:3] == [
        str(ReportColumn.TREATED_ARM.label),
        str(ReportColumn.CONTROL_ARM.label),
        "Outcome",
    ]
    assert [r[:3] for r in rows[1:]] == [["Womens E-Mail", "No E-Mail", "spend"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group", "segmnt"], r"e\.csv has no column segmnt; its columns are: recency"),
        (["--treated", "Mens"], r"column segment has no value “Mens”; its values are: Mens E-Mail"),
        (["--outcome", "zip_code"], r"column zip_code: \d+ values are not numbers, e\.g\. “Rural”"),
        (["--outcome", "spend"], r"column spend: \d+ values are neither 0 nor 1"),
        (["--revenue", "visit", "--outcome", "visit"], "visit is named twice"),
        (["--control", "Mens E-Mail"], "two different values"),
    ],
)
def test_a_wrong_column_or_value_is_a_clear_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    # Given a file and a design with one thing wrong
    path = write(hillstrom(500), tmp_path / "e.csv")
    base = {"--group": "segment", "--treated": "Mens E-Mail", "--control": "No E-Mail"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = [str(path), *(item for pair in base.items() for item in pair)]
    if "--outcome" not in base and "--revenue" not in base:
        argv += ["--outcome", "visit"]

    # When the command runs, then it stops with the message and writes no report
    with pytest.raises(CommandError, match=message):
        call_command("evaluate-experiment", *argv, stdout=io.StringIO())
    assert not (tmp_path / "e-lifts.xlsx").exists()


def test_an_error_reaches_the_terminal_as_one_line_without_a_traceback(tmp_path: Path) -> None:
    # Given a file without the named outcome, and no database at all
    path = write(hillstrom(300), tmp_path / "e.csv")
    environment = dict(os.environ, QUANWANG_VAR_DIR=str(tmp_path / "var"))
    environment["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/nothing"

    # When an operator runs the command
    run = subprocess.run(
        [sys.executable, "-m", "quanwang.cli", "evaluate-experiment", str(path), "--lang", "en",
         "--group", "segment", "--treated", "Mens E-Mail", "--control", "No E-Mail",
         "--outcome", "visits"],
        capture_output=True, text=True, env=environment, timeout=120, check=False,
    )  # fmt: skip

    # Then it fails with one line naming the file and the column
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        "CommandError: e.csv has no column visits; its columns are: " + ", ".join(HILLSTROM_COLUMNS)
    ]


def test_missing_values_are_left_out_and_counted(tmp_path: Path) -> None:
    # Given a file where two treated customers have no spend recorded
    path = tmp_path / "e.csv"
    path.write_text(
        "arm,spend,bought\n" + "t,10,1\nt,,0\nt,,1\nt,0,0\n" + "c,5,1\nc,0,0\nc,1,0\n",
        encoding="utf-8",
    )

    # When it is evaluated
    design = ExperimentDesign(
        group="arm", treated="t", control="c", outcomes=("bought",), revenue=("spend",)
    )
    bought, spend = evaluate_file(path=path, design=design).lifts

    # Then spend compares the rows that have one, and says how many it left out
    assert (spend.treated.rows, spend.treated.missing, spend.treated.value) == (2, 2, 5.0)
    assert LiftCaveat.MISSING in spend.caveats
    assert LiftCaveat.MISSING not in bought.caveats
    assert bought.treated.value == 0.5


def test_a_gbk_file_with_chinese_arms_is_read(tmp_path: Path) -> None:
    # Given an operator's export in GBK with Chinese arm names
    path = tmp_path / "实验.csv"
    rows = (
        ["分组,是否办理,收入"]
        + ["短信组,1,30"] * 40
        + ["短信组,0,0"] * 60
        + ["对照组,1,20"] * 20
        + ["对照组,0,0"] * 80
    )
    path.write_bytes("\n".join(rows).encode("gbk"))

    # When it is evaluated
    design = ExperimentDesign(
        group="分组", treated="短信组", control="对照组", outcomes=("是否办理",), revenue=("收入",)
    )
    accepted, revenue = evaluate_file(path=path, design=design).lifts

    # Then the figures are the file's
    assert accepted.difference == pytest.approx(0.2)
    assert revenue.difference == pytest.approx(12.0 - 4.0)


def test_the_summary_offers_the_arm_values_and_the_numeric_columns(tmp_path: Path) -> None:
    # Given a Hillstrom-shaped file
    path = write(hillstrom(800), tmp_path / "e.xlsx")

    # When the page reads its columns
    summary = summarise_file(path=path, display_name="hillstrom.xlsx")

    # Then the arm column lists its three values and text columns are not numeric
    columns = {c.name: c for c in summary.columns}
    assert summary.name == "hillstrom.xlsx"
    assert summary.rows == 800
    assert columns["segment"].values == ["Mens E-Mail", "No E-Mail", "Womens E-Mail"]
    assert columns["spend"].numeric
    assert columns["visit"].numeric
    assert not columns["zip_code"].numeric
    assert columns["history"].values == []  # too many values to name arms


def test_a_result_survives_json_and_its_downloads_hold_every_outcome(tmp_path: Path) -> None:
    # Given a result
    result = evaluate_file(path=write(hillstrom(900), tmp_path / "e.csv"), design=DESIGN)

    # When it goes through JSON (the page keeps it in the session) and out as files
    again = ExperimentResult.from_json(result.as_json())
    text = report_bytes(again, ReportKind.CSV).decode("utf-8-sig")
    book = load_workbook(io.BytesIO(report_bytes(again, ReportKind.XLSX)))

    # Then nothing is lost
    assert again == result
    assert [row[2] for row in csv.reader(text.splitlines()[1:])] == ["visit", "conversion", "spend"]
    assert book.sheetnames[1] == "About"


# --- the intervals ------------------------------------------------------------------------


def test_the_amount_intervals_cover_95_percent_of_skewed_mostly_zero_revenue() -> None:
    # Given 1,000 simulated experiments of 500 customers an arm; revenue is 0 for 88% (treated)
    # and 90% (control), else lognormal(3.5, 1): skewed, a few dozen payers an arm
    rng = np.random.default_rng(20240)
    experiments, n = 1000, 500
    payer_mean = np.exp(3.5 + 0.5)
    true_difference = (0.12 - 0.10) * payer_mean
    true_ratio = 0.12 / 0.10
    covered = covered_relative = 0
    for _ in range(experiments):
        treated = np.where(rng.random(n) < 0.12, rng.lognormal(3.5, 1.0, n), 0.0)
        control = np.where(rng.random(n) < 0.10, rng.lognormal(3.5, 1.0, n), 0.0)

        # When each is evaluated
        lift = mean_lift(column="spend", treated=treated, control=control, confidence=0.95)

        assert lift.difference_ci is not None
        covered += lift.difference_ci.contains(true_difference)
        covered_relative += lift.relative_ci is None or lift.relative_ci.contains(true_ratio - 1)

    # Then the difference's and the ratio's intervals cover the truth 93–97% of the time
    assert 0.93 <= covered / experiments <= 0.97
    assert 0.93 <= covered_relative / experiments <= 0.97


def test_the_rate_intervals_cover_95_percent_at_low_rates() -> None:
    # Given 1,000 experiments of 500 an arm converting at 3% against 2%
    rng = np.random.default_rng(77)
    covered = covered_relative = with_ratio = 0
    for _ in range(1000):
        treated = (rng.random(500) < 0.03).astype(float)
        control = (rng.random(500) < 0.02).astype(float)

        # When each is evaluated
        lift = rate_lift(column="conversion", treated=treated, control=control, confidence=0.95)

        assert lift.difference_ci is not None
        covered += lift.difference_ci.contains(0.01)
        if lift.relative_ci is not None:
            with_ratio += 1
            covered_relative += lift.relative_ci.contains(0.5)

    # Then Newcombe's and Katz's intervals cover the truth about 95% of the time
    assert 0.93 <= covered / 1000 <= 0.97
    assert 0.93 <= covered_relative / with_ratio <= 0.975


@settings(max_examples=60, deadline=None)
@given(
    treated=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=2, max_size=40),
    control=st.lists(st.floats(0.01, 1e4, allow_nan=False), min_size=2, max_size=40),
)
def test_the_relative_interval_excludes_0_exactly_when_the_difference_interval_does(
    treated: list[float], control: list[float]
) -> None:
    # Given any two arms of amounts (the control's mean above 0)
    lift = mean_lift(
        column="x", treated=np.array(treated), control=np.array(control), confidence=0.95
    )

    # Then the lift lies in its interval, and Fieller's ratio interval agrees with Welch's
    assert lift.difference_ci is not None
    assert lift.difference is not None
    assert lift.difference_ci.low - 1e-9 <= lift.difference <= lift.difference_ci.high + 1e-9
    if lift.relative_ci is not None:
        tolerance = 1e-9 * max(1.0, abs(lift.relative_ci.low), abs(lift.relative_ci.high))
        edge = min(abs(lift.relative_ci.low), abs(lift.relative_ci.high))
        if edge > tolerance:  # not on the boundary, where rounding may decide
            assert lift.relative_ci.contains(0.0) == lift.difference_ci.contains(0.0)


def test_an_arm_without_values_or_a_control_without_responders_gives_no_ratio() -> None:
    # Given a control arm without responders and an empty treated arm
    no_base = rate_lift(
        column="c", treated=np.array([1.0, 0.0]), control=np.zeros(50), confidence=0.95
    )
    empty = mean_lift(column="s", treated=np.array([]), control=np.ones(5), confidence=0.95)

    # Then the difference is still measured where it can be, never the ratio
    assert no_base.difference == 0.5
    assert no_base.relative is None
    assert LiftCaveat.NO_CONTROL_BASE in no_base.caveats
    assert empty.difference is None
    assert empty.difference_ci is None
    assert LiftCaveat.EMPTY_ARM in empty.caveats


def test_an_unreadable_file_names_itself(tmp_path: Path) -> None:
    # Given a file that is not a table
    path = tmp_path / "notes.txt.pdf"
    path.write_bytes(b"%PDF-1.4")

    # When it is evaluated, then the error names the file the user knows
    with pytest.raises(ExperimentError, match=r"upload\.pdf"):
        evaluate_file(path=path, design=DESIGN, display_name="upload.pdf")


# --- the console page ---------------------------------------------------------------------

PAGE = "/campaigns/experiments/evaluate/"


def test_a_marketer_uploads_a_file_chooses_the_arms_and_downloads_the_lifts(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given a city marketer with a Hillstrom-shaped file
    client.force_login(marketer(tree))
    path = write(hillstrom(2000), tmp_path / "hillstrom.csv")

    # When they upload it
    with path.open("rb") as handle:
        uploaded = client.post(PAGE, {"step": "upload", "file": handle})
    assert uploaded.status_code == 302
    [stored] = list(uploads_dir().iterdir())
    chooser = client.get(PAGE)
    form = chooser.context["design_form"]

    # Then the stored copy is private, and the page offers the arm columns and numeric columns
    assert stored.stat().st_mode & 0o777 == 0o600
    assert "segment" in dict(form.fields["group"].choices)
    assert form.initial["group"] == "segment"  # named like an arm column, not history_segment
    assert list(dict(form.fields["treated"].choices)) == [
        "Mens E-Mail",
        "No E-Mail",
        "Womens E-Mail",
    ]
    assert {"visit", "conversion", "spend"} <= set(dict(form.fields["revenue"].choices))
    narrowed = client.get(PAGE + "arms/", {"group": "segment"})
    assert "Womens E-Mail" in narrowed.content.decode()
    assert "Urban" not in narrowed.content.decode()

    # When they evaluate Mens E-Mail against No E-Mail
    evaluated = client.post(
        PAGE,
        {
            "step": "evaluate", "group": "segment", "treated": "Mens E-Mail",
            "control": "No E-Mail", "outcomes": ["visit", "conversion"], "revenue": ["spend"],
        },
    )  # fmt: skip
    page = client.get(PAGE)

    # Then the upload is gone, and the page shows each lift with its interval and downloads
    assert evaluated.status_code == 302
    assert not stored.exists()
    expected = evaluate_file(path=path, design=DESIGN)
    body = page.content.decode()
    for row in display_rows(expected):
        assert row["lift_ci"] in body
    xlsx = client.get(PAGE + "lifts.xlsx")
    assert xlsx["Content-Disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [row[2] for row in sheet.iter_rows(2, values_only=True)] == [
        "visit",
        "conversion",
        "spend",
    ]
    text = client.get(PAGE + "lifts.csv").content.decode("utf-8-sig")
    assert "Mens E-Mail" in text


def test_the_page_says_what_is_wrong_with_a_choice_and_keeps_the_upload(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given an uploaded file
    client.force_login(marketer(tree))
    with write(hillstrom(300), tmp_path / "e.csv").open("rb") as handle:
        client.post(PAGE, {"step": "upload", "file": handle})

    # When zip_code is asked for as a yes/no outcome, and then the arms are the same value
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    not_numeric = client.post(
        PAGE,
        {"step": "evaluate", "group": "zip_code", "treated": "Urban", "control": "Rural",
         "outcomes": ["zip_code"]},
        **english,
    )  # fmt: skip
    same = client.post(
        PAGE,
        {"step": "evaluate", "group": "segment", "treated": "No E-Mail", "control": "No E-Mail",
         "outcomes": ["visit"]},
        **english,
    )  # fmt: skip
    odd = client.post(
        PAGE,
        {"step": "evaluate", "group": "segment", "treated": "Mens E-Mail",
         "control": "No E-Mail", "outcomes": ["spend"]},
        **english,
    )  # fmt: skip

    # Then each says why, and the file stays for another choice
    assert not_numeric.status_code == 200
    assert "zip_code" in not_numeric.context["design_form"].errors["outcomes"][0]
    assert "two different values" in same.context["design_form"].errors["control"][0]
    assert "neither 0 nor 1" in odd.context["design_form"].non_field_errors()[0]
    assert len(list(uploads_dir().iterdir())) == 1


def test_a_file_that_is_not_a_table_is_refused_and_not_kept(
    tree: factories.Tree, client: Client
) -> None:
    client.force_login(marketer(tree))

    refused = client.post(
        PAGE, {"step": "upload", "file": SimpleUploadedFile("e.csv", b",b\n1,2\n", "text/csv")}
    )
    wrong = client.post(
        PAGE, {"step": "upload", "file": SimpleUploadedFile("e.pdf", b"%PDF", "application/pdf")}
    )

    assert refused.status_code == wrong.status_code == 200
    assert "e.csv" in refused.context["upload_form"].errors["file"][0]
    assert ".parquet" in wrong.context["upload_form"].errors["file"][0]
    assert not uploads_dir().exists() or not list(uploads_dir().iterdir())


def test_who_may_not_evaluate_a_campaign_may_not_open_the_page(
    tree: factories.Tree, client: Client
) -> None:
    # Given a grid manager (reads campaigns, evaluates none) and a city marketer
    grid = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    # When each opens the page, then only the marketer finds it, and it is in their menu
    client.force_login(grid)
    assert client.get(PAGE).status_code == 404
    assert client.get(PAGE + "lifts.csv").status_code == 404
    assert PAGE not in client.get("/").content.decode()
    client.force_login(marketer(tree))
    assert client.get(PAGE).status_code == 200
    assert PAGE in client.get("/").content.decode()
