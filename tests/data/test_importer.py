"""Importing operators' files into the warehouse: real files, real DuckDB, bad input on purpose."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import Workbook

from quanwang.data.importer import ImportFailed, import_file, scratch_dir
from quanwang.data.services import save_mapping
from quanwang.data.warehouse import Warehouse
from tests import factories

PLANS = (
    "plan_id,name,plan_type,monthly_fee,data_gb,voice_minutes,is_5g\n"
    "P1,5G畅享129,postpaid,129,30,500,是\n"
    "P2,4G日租卡,prepaid,19,5,100,否\n"
)
SUBSCRIBER_HEADER = (
    "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id,birth_date\n"
)


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _rows(table: str) -> list[tuple[Any, ...]]:
    store = Warehouse()
    return duckdb.sql(f"SELECT * FROM {store.relation(table)} ORDER BY 1").fetchall()


def _quarantine(report: Any) -> list[dict[str, str]]:
    with open(report.quarantine_file, encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def plans(db: None, tmp_path: Path) -> None:
    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))


def test_a_gbk_file_is_detected_and_its_chinese_headers_are_understood(
    plans: None, tmp_path: Path
) -> None:
    # Given a GBK export whose headers are the Chinese column labels
    text = (
        "用户编号,手机号码,客户类型,付费类型,入网日期,状态,套餐编码\n"
        "S1,13800000001,个人,postpaid,2020/1/5,active,P1\n"
    )
    path = _write(tmp_path, "subs.csv", text, encoding="gbk")

    # When it is imported without naming the encoding
    report = import_file(table_name="subscribers", path=path)

    # Then it loaded with the right values
    assert report.loaded == 1
    assert _rows("subscribers")[0][:2] == ("S1", "13800000001")


def test_dates_in_every_usual_form_are_read(plans: None, tmp_path: Path) -> None:
    text = SUBSCRIBER_HEADER + "".join(
        f"S{i},1380000000{i},个人,prepaid,{d},active,P2,\n"
        for i, d in enumerate(["2024-01-05", "2024/1/5", "20240105", "2024.01.05", "2024年1月5日"])
    )

    report = import_file(table_name="subscribers", path=_write(tmp_path, "s.csv", text))

    assert report.loaded == 5
    assert {str(row[7]) for row in _rows("subscribers")} == {"2024-01-05"}


def test_each_bad_value_is_quarantined_with_row_column_and_reason(
    plans: None, tmp_path: Path
) -> None:
    # Given a file with a future birth date, an unknown plan, a duplicate ID, a bad enum,
    # a bad date and a truncated last line
    text = (
        SUBSCRIBER_HEADER
        + "S1,13800000001,个人,postpaid,2020-01-05,active,P1,1990-01-01\n"  # row 2: good
        + "S2,13800000002,个人,prepaid,2021-01-05,active,P2,2099-01-01\n"  # row 3: future
        + "S3,13800000003,个人,prepaid,2021-01-05,active,PX,\n"  # row 4: unknown plan
        + "S1,13800000004,个人,prepaid,2021-01-05,active,P1,\n"  # row 5: duplicate
        + "S5,13800000005,法人,prepaid,2021-01-05,active,P1,\n"  # row 6: bad segment
        + "S6,13800000006,个人,prepaid,昨天,active,P1,\n"  # row 7: bad date
        + "S7,1380000"  # row 8: truncated
    )

    # When it is imported
    report = import_file(table_name="subscribers", path=_write(tmp_path, "s.csv", text))

    # Then the good row loaded and each bad one is named, in Chinese and English
    rejected = {(int(r["row"]), r["column"], r["reason_code"]) for r in _quarantine(report)}
    assert report.loaded == 1
    assert rejected == {
        (3, "birth_date", "future"),
        (4, "plan_id", "reference"),
        (5, "subscriber_id", "duplicate"),
        (6, "segment", "choice"),
        (7, "join_date", "type"),
        (8, "", "malformed"),
    }
    assert all(r["reason_zh"] and r["reason_en"] for r in _quarantine(report))
    assert report.rows_read == 7


def test_usage_for_an_unknown_subscriber_is_quarantined(plans: None, tmp_path: Path) -> None:
    import_file(
        table_name="subscribers",
        path=_write(
            tmp_path,
            "s.csv",
            SUBSCRIBER_HEADER + "S1,13800000001,个人,prepaid,2020-01-05,active,P1,\n",
        ),
    )
    usage = (
        "subscriber_id,month,arpu,mou\nS1,2024-01,48.5,220\nS9,2024-01,30,10\nS1,2024-02,abc,-5\n"
    )

    report = import_file(table_name="monthly_usage", path=_write(tmp_path, "u.csv", usage))

    rejected = {(int(r["row"]), r["column"], r["reason_code"]) for r in _quarantine(report)}
    assert report.loaded == 1
    assert rejected == {(3, "subscriber_id", "reference"), (4, "arpu", "type"), (4, "mou", "range")}


def test_amounts_with_thousands_separators_and_in_fen_are_read(db: None, tmp_path: Path) -> None:
    # Given a plan catalogue whose fees are in fen with thousands separators
    text = 'plan_id,name,plan_type,fee_fen,is_5g\nP1,尊享,postpaid,"12,900",Y\n'
    mapping = {
        "columns": {
            "monthly_fee": {"from": "fee_fen", "unit": "fen"},
        }
    }

    import_file(table_name="plans", path=_write(tmp_path, "p.csv", text), mapping=mapping)

    assert _rows("plans")[0][3] == 129.0


def test_an_empty_file_is_refused_and_changes_nothing(plans: None, tmp_path: Path) -> None:
    before = _rows("plans")

    with (
        translation.override("en"),
        pytest.raises(ImportFailed, match=r"p\.csv: the file is empty"),
    ):
        import_file(table_name="plans", path=_write(tmp_path, "p.csv", ""))

    assert _rows("plans") == before


def test_a_file_with_only_a_header_loads_nothing_and_says_so(db: None, tmp_path: Path) -> None:
    report = import_file(table_name="plans", path=_write(tmp_path, "p.csv", PLANS.splitlines()[0]))

    assert (report.rows_read, report.loaded) == (0, 0)


def test_a_missing_required_column_is_named(db: None, tmp_path: Path) -> None:
    text = "plan_id,name,monthly_fee,is_5g\nP1,x,10,是\n"

    with pytest.raises(ImportFailed, match="plan_type"):
        import_file(table_name="plans", path=_write(tmp_path, "p.csv", text))


def test_an_unknown_extra_column_is_reported_not_loaded(db: None, tmp_path: Path) -> None:
    text = PLANS.replace("is_5g\n", "is_5g,remark\n").replace("是\n", "是,备注\n")

    report = import_file(table_name="plans", path=_write(tmp_path, "p.csv", text))

    assert report.unused_columns == ["remark"]


def test_importing_the_same_file_twice_gives_the_same_table(plans: None, tmp_path: Path) -> None:
    first = _rows("plans")

    import_file(table_name="plans", path=_write(tmp_path, "plans2.csv", PLANS))

    assert _rows("plans") == first


def test_a_newer_extract_upserts_by_key(plans: None, tmp_path: Path) -> None:
    base = SUBSCRIBER_HEADER + "S1,13800000001,个人,prepaid,2020-01-05,active,P1,\n"
    import_file(table_name="subscribers", path=_write(tmp_path, "a.csv", base))
    newer = SUBSCRIBER_HEADER + (
        "S1,13800000001,个人,prepaid,2020-01-05,churned,P1,\n"
        "S2,13800000002,个人,prepaid,2021-01-05,active,P2,\n"
    )

    import_file(table_name="subscribers", path=_write(tmp_path, "b.csv", newer))

    assert [(r[0], r[8]) for r in _rows("subscribers")] == [("S1", "churned"), ("S2", "active")]


def test_a_public_churn_dataset_loads_through_a_saved_mapping(db: None, tmp_path: Path) -> None:
    # Given a foreign export with its own column names, and a mapping saved by name
    import_file(table_name="plans", path=_write(tmp_path, "p.csv", PLANS))
    text = (
        "customerID,gender,tenure,Contract,MonthlyCharges,Churn\n"
        "7590-VHVEG,Female,1,Month-to-month,29.85,No\n"
        "5575-GNVDE,Male,34,One year,56.95,Yes\n"
    )
    spec = {"columns": factories.TELCO_SUBSCRIBER_COLUMNS}
    save_mapping(actor=None, name="telco-churn", table="subscribers", spec=spec, org_unit=None)
    path = _write(tmp_path, "telco.csv", text)

    # When it is imported with that mapping from the CLI
    call_command("import", "subscribers", str(path), "--mapping", "telco-churn")

    # Then every row loaded, converted
    rows = {r[0]: r for r in _rows("subscribers")}
    assert set(rows) == {"7590-VHVEG", "5575-GNVDE"}
    assert (rows["5575-GNVDE"][3], rows["5575-GNVDE"][8]) == ("男", "churned")


def test_a_mapping_with_a_forbidden_expression_is_refused(db: None) -> None:
    from quanwang.core.errors import ServiceError

    spec = {"columns": {"name": {"expr": "read_csv('/etc/passwd')"}}}

    with pytest.raises(ServiceError):
        save_mapping(actor=None, name="bad", table="plans", spec=spec, org_unit=None)


def test_an_xlsx_file_loads(db: None, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in [line.split(",") for line in PLANS.strip().splitlines()]:
        sheet.append(row)
    path = tmp_path / "plans.xlsx"
    workbook.save(path)

    report = import_file(table_name="plans", path=path)

    assert report.loaded == 2


def test_an_xlsx_with_merged_header_cells_is_refused_with_the_column(
    db: None, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["plan_id", "套餐", None, "is_5g"])
    sheet.merge_cells("B1:C1")
    sheet.append(["P1", "x", "postpaid", "是"])
    path = tmp_path / "merged.xlsx"
    workbook.save(path)

    with translation.override("en"), pytest.raises(ImportFailed, match="column 3"):
        import_file(table_name="plans", path=path)


def test_a_parquet_file_loads(db: None, tmp_path: Path) -> None:
    table = pa.table(
        {
            "plan_id": ["P1"],
            "name": ["5G"],
            "plan_type": ["postpaid"],
            "monthly_fee": [129.0],
            "is_5g": [True],
        }
    )
    pq.write_table(table, tmp_path / "plans.parquet")

    report = import_file(table_name="plans", path=tmp_path / "plans.parquet")

    assert report.loaded == 1
    assert _rows("plans")[0][6] is True


def test_a_parquet_float_column_mapped_to_whole_numbers_quarantines_1e30_nan_and_inf(
    db: None, tmp_path: Path
) -> None:
    # Given a Parquet plan catalogue whose minutes are float64, one of them 1e30, nan or inf
    table = pa.table(
        {
            "plan_id": ["P1", "P2", "P3", "P4"],
            "name": ["5G", "大", "非数", "无穷"],
            "plan_type": ["postpaid"] * 4,
            "monthly_fee": [129.0, 10.0, 10.0, 10.0],
            "minutes": [500.0, 1e30, float("nan"), float("-inf")],
            "is_5g": [True] * 4,
        }
    )
    pq.write_table(table, tmp_path / "plans.parquet")
    mapping = {"columns": {"voice_minutes": {"from": "minutes"}}}

    # When it is imported with the minutes mapped to the whole-number column
    report = import_file(table_name="plans", path=tmp_path / "plans.parquet", mapping=mapping)

    # Then the good row loaded and each other one names its row, column and reason
    rejected = {
        (int(r["row"]), r["column"], r["value"], r["reason_code"]) for r in _quarantine(report)
    }
    assert rejected == {
        (3, "voice_minutes", "1e+30", "too_large"),
        (4, "voice_minutes", "nan", "not_finite"),
        # quoted: the rejected-rows file is opened in a spreadsheet (core.tabular)
        (5, "voice_minutes", "'-inf", "not_finite"),
    }
    assert [(row[0], row[5]) for row in _rows("plans")] == [("P1", 500)]


def test_a_parquet_money_column_holding_inf_or_nan_quarantines_those_rows(
    db: None, tmp_path: Path
) -> None:
    table = pa.table(
        {
            "plan_id": ["P1", "P2", "P3"],
            "name": ["5G", "无穷", "非数"],
            "plan_type": ["postpaid"] * 3,
            "monthly_fee": [129.0, float("inf"), float("nan")],
            "is_5g": [True] * 3,
        }
    )
    pq.write_table(table, tmp_path / "plans.parquet")

    report = import_file(table_name="plans", path=tmp_path / "plans.parquet")

    rejected = {(int(r["row"]), r["column"], r["reason_code"]) for r in _quarantine(report)}
    assert rejected == {(3, "monthly_fee", "not_finite"), (4, "monthly_fee", "not_finite")}
    assert [row[0] for row in _rows("plans")] == ["P1"]


def test_a_parquet_int64_column_loads_into_a_whole_number_column(db: None, tmp_path: Path) -> None:
    table = pa.table(
        {
            "plan_id": ["P1", "P2"],
            "name": ["5G", "4G"],
            "plan_type": ["postpaid", "prepaid"],
            "monthly_fee": [129.0, 19.0],
            "voice_minutes": pa.array([500, 2**53], type=pa.int64()),
            "is_5g": [True, False],
        }
    )
    pq.write_table(table, tmp_path / "plans.parquet")

    report = import_file(table_name="plans", path=tmp_path / "plans.parquet")

    assert (report.loaded, report.quarantined) == (2, 0)
    assert [row[5] for row in _rows("plans")] == [500, 2**53]


def test_a_value_below_its_minimum_names_the_minimum(plans: None, tmp_path: Path) -> None:
    # Given a plan whose data allowance is negative
    text = PLANS + "P3,负流量,prepaid,19,-1,100,否\n"

    # When it is imported
    report = import_file(table_name="plans", path=_write(tmp_path, "p.csv", text))

    # Then its reason says which bound it broke, in both languages
    [reject] = _quarantine(report)
    assert (reject["row"], reject["column"], reject["reason_code"]) == ("4", "data_gb", "range")
    assert (reject["reason_zh"], reject["reason_en"]) == ("小于最小值 0", "below the minimum of 0")


def test_a_row_with_too_few_fields_says_how_many_it_has_and_needs(
    plans: None, tmp_path: Path
) -> None:
    # Given a file whose last line was cut short
    text = PLANS + "P3,短,prepaid"

    # When it is imported
    report = import_file(table_name="plans", path=_write(tmp_path, "p.csv", text))

    # Then the row is quarantined with a reason a person can act on
    [reject] = _quarantine(report)
    assert (reject["row"], reject["reason_code"]) == ("4", "malformed")
    assert reject["reason_en"] == "malformed row: 3 fields where 7 are expected (a truncated row?)"
    assert reject["reason_zh"] == "行格式错误：只有 3 个字段，应有 7 个（行被截断？）"


def test_a_process_killed_mid_import_leaves_the_table_unchanged_and_a_rerun_completes(
    plans: None, tmp_path: Path, settings: Any
) -> None:
    # Given a large usage file and subscribers to match
    subscribers = SUBSCRIBER_HEADER + "".join(
        f"S{i},138{i:08d},个人,prepaid,2020-01-05,active,P2,\n" for i in range(10000)
    )
    import_file(table_name="subscribers", path=_write(tmp_path, "s.csv", subscribers))
    usage = tmp_path / "usage.csv"
    with usage.open("w", encoding="utf-8") as handle:
        handle.write("subscriber_id,month,arpu,mou\n")
        for month in range(1, 13):
            for i in range(10000):
                handle.write(f"S{i},2024-{month:02d},{i % 97 + 0.5},{i % 300}\n")
    before = Warehouse().current_file("monthly_usage")

    # When an import process is killed while it runs
    env = {
        **os.environ,
        "QUANWANG_VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SETTINGS_MODULE": "quanwang.settings",
    }
    script = (
        "import django, pathlib; django.setup(); "
        "from quanwang.data.importer import import_file; "
        f"import_file(table_name='monthly_usage', path=pathlib.Path({str(usage)!r}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not list(Path(settings.VAR_DIR).glob("import-*")):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the import never started"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL

    # Then the table is as it was, and a re-run loads everything and removes the killed
    # import's work folder
    assert Warehouse().current_file("monthly_usage") == before
    assert list(Path(settings.VAR_DIR).glob("import-*"))
    report = import_file(table_name="monthly_usage", path=usage)
    assert report.loaded == 120000
    assert list(Path(settings.VAR_DIR).glob("*import-*")) == []


def test_an_import_leaves_alone_the_work_folder_of_an_import_running_beside_it(
    plans: None, tmp_path: Path
) -> None:
    # Given another import running, with what it has spilled in its work folder
    with scratch_dir() as running:
        (running / "spill").mkdir()

        # When an import starts and ends meanwhile
        import_file(table_name="plans", path=_write(tmp_path, "p.csv", PLANS))

        # Then the running import's folder is still there, and only it
        assert (running / "spill").is_dir()
        assert list(running.parent.glob("*import-*")) == [running]


def test_the_mapping_command_saves_a_mapping_from_json(db: None, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"columns": {"plan_id": {"from": "id"}}}), encoding="utf-8")

    call_command("mapping", "save", "ids", "plans", str(path))

    from quanwang.data.models import ImportMapping

    assert ImportMapping.objects.get(name="ids").spec["columns"]["plan_id"] == {"from": "id"}


def test_the_console_import_page_runs_a_job_into_the_warehouse(
    tree: Any, client: Any, tmp_path: Path
) -> None:
    # Given the province's data administrator uploading a plan catalogue
    from quanwang.core.choices import JobStatus, Role
    from quanwang.core.jobs import execute_job
    from quanwang.core.models import Job
    from tests import factories

    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    upload = _write(tmp_path, "plans.csv", PLANS, encoding="gbk")

    # When the form is posted and the job runs
    with upload.open("rb") as handle:
        response = client.post("/data/import/", {"table": "plans", "file": handle})
    job = Job.objects.get()
    finished = execute_job(job_id=job.pk)

    # Then the page went to the job, which loaded both plans
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert finished.status == JobStatus.SUCCEEDED
    assert len(_rows("plans")) == 2


def test_the_job_page_names_quarantine_reasons_in_words(
    tree: Any, client: Any, tmp_path: Path
) -> None:
    # Given a finished import job in which one plan had a negative fee
    from quanwang.core.choices import Role
    from quanwang.core.jobs import execute_job
    from quanwang.core.models import Job
    from tests import factories

    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    upload = _write(tmp_path, "plans.csv", PLANS + "P3,坏套餐,prepaid,-5,1,1,否\n")
    with upload.open("rb") as handle:
        client.post("/data/import/", {"table": "plans", "file": handle})
    execute_job(job_id=Job.objects.get().pk)

    # When the job page is opened in English
    page = client.get(f"/jobs/{Job.objects.get().pk}/", HTTP_ACCEPT_LANGUAGE="en")

    # Then the reason reads as words with its count, not as a code
    assert "Out of range: 1" in page.content.decode()


def test_a_gbk_file_named_as_utf8_is_refused_with_a_clear_message(db: None, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "套餐编码,套餐名称\nP1,畅享\n", encoding="gbk")

    with translation.override("en"), pytest.raises(ImportFailed, match=r"encoding \(e\.g\. gbk\)"):
        import_file(table_name="plans", path=path, encoding="utf-8")


def test_gbk_bytes_after_the_first_megabyte_of_a_utf8_file_are_quarantined_as_another_encoding(
    db: None, tmp_path: Path
) -> None:
    # Given a file that is UTF-8 for its first megabyte and has a GBK row after it
    head = (
        "plan_id,name,plan_type,monthly_fee,is_5g"
        + "\n"
        + "".join(f"P{i},套餐{i},postpaid,10,true\n" for i in range(40_000))
    )
    path = tmp_path / "p.csv"
    path.write_bytes(head.encode() + "PX,畅享,postpaid,10,true\n".encode("gbk"))

    report = import_file(table_name="plans", path=path)

    rejected = _quarantine(report)
    assert report.loaded == 40_000
    assert [(int(r["row"]), r["reason_code"]) for r in rejected] == [(40_002, "encoding")]
    assert rejected[0]["reason_en"] == "this row is in another encoding"


def test_rows_after_a_malformed_line_keep_their_own_row_numbers(
    plans: None, tmp_path: Path
) -> None:
    # Given a malformed row between a subscriber and its duplicate
    text = (
        SUBSCRIBER_HEADER
        + "S1,13800000001,个人,postpaid,2020-01-05,active,P1,\n"  # row 2
        + "S2,13800000002,个人,postpaid,2020-01-05,active,P1,,extra,extra\n"  # row 3
        + "S1,13800000003,个人,postpaid,2020-01-05,active,P1,\n"  # row 4
        + "S4,13800000004,个人,postpaid,2020-01-05,active,PX,\n"  # row 5
    )

    # When it is imported
    report = import_file(table_name="subscribers", path=_write(tmp_path, "s.csv", text))

    # Then each reject names the row it is on in the file, and the duplicate names row 2
    rejected = {(int(r["row"]), r["reason_code"], r["reason_en"]) for r in _quarantine(report)}
    assert {(row, code) for row, code, _en in rejected} == {
        (3, "malformed"),
        (4, "duplicate"),
        (5, "reference"),
    }
    assert (4, "duplicate", "duplicate key of row 2") in rejected


def test_duplicates_are_found_when_the_check_is_split_by_key(
    plans: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a duplicate check that may only group two rows at a time
    monkeypatch.setattr("quanwang.data.importer.DUPLICATE_CHECK_ROWS", 2)
    lines = [f"S{i},1380000{i:04d},个人,postpaid,2020-01-05,active,P1,\n" for i in range(20)]
    lines += ["S3,13811110003,个人,postpaid,2020-01-05,active,P1,\n"]  # row 22
    lines += ["S17,13811110017,个人,postpaid,2020-01-05,active,P1,\n"]  # row 23

    # When a file with two duplicates is imported
    report = import_file(
        table_name="subscribers", path=_write(tmp_path, "s.csv", SUBSCRIBER_HEADER + "".join(lines))
    )

    # Then both are found, each naming its first occurrence
    rejected = {(int(r["row"]), r["reason_en"]) for r in _quarantine(report)}
    assert rejected == {(22, "duplicate key of row 5"), (23, "duplicate key of row 19")}
    assert report.loaded == 20


def test_a_large_file_is_checked_in_a_scratch_database_with_the_same_result(
    plans: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given every file counts as large, so the checks run in a database file on disk
    monkeypatch.setattr("quanwang.data.importer.IN_MEMORY_SOURCE_BYTES", 0)
    monkeypatch.setattr("quanwang.data.importer.DUPLICATE_CHECK_ROWS", 1)
    text = (
        SUBSCRIBER_HEADER
        + "S1,13800000001,个人,postpaid,2020-01-05,active,P1,\n"
        + "S1,13800000002,个人,postpaid,2020-01-05,active,P1,\n"
        + "S3,13800000003,法人,postpaid,2020-01-05,active,P1,\n"
    )

    report = import_file(table_name="subscribers", path=_write(tmp_path, "s.csv", text))

    rejected = {(int(r["row"]), r["reason_code"]) for r in _quarantine(report)}
    assert rejected == {(3, "duplicate"), (4, "choice")}
    assert [row[0] for row in _rows("subscribers")] == ["S1"]
