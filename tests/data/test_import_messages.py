"""What an import tells people: one line of cause (never a traceback), the user's own file
name, an exit status a script can act on, and mappings saved from the CLI that the console's
users see."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.management import call_command

from quanwang.core.choices import JobStatus, Role
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job
from quanwang.data.models import ImportMapping
from tests import factories

PLANS = (
    "plan_id,name,plan_type,monthly_fee,data_gb,voice_minutes,is_5g\n"
    "P1,5G畅享129,postpaid,129,30,500,是\n"
    "P2,4G日租卡,prepaid,19,5,100,否\n"
)
BAD_PLAN = "P3,坏套餐,prepaid,-5,1,1,否\n"


# Runs `quanwang` (its `main`, as the installed command does) once for each argument list, in
# one process: a process each would spend most of the test starting Django. Each run's exit
# status and what it wrote to the file descriptors 1 and 2 (the log's handler included).
DRIVER = """
import json, os, sys, tempfile
from quanwang.cli import main

def captured(args):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved = [os.dup(1), os.dup(2)]
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
        try:
            try:
                code = main(args)
            except SystemExit as exc:
                code = exc.code
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os.dup2(saved[0], 1); os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        out.seek(0); err.seek(0)
        return [code or 0, out.read().decode(), err.read().decode()]

print(json.dumps([captured(args) for args in json.loads(sys.argv[1])]))
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def _quanwang(*runs: list[str], var: Path, lang: str = "zh") -> list[Run]:
    """`quanwang ARGS` for each of `runs`, in a process of its own, on the SQLite database
    under `var`, in the language `lang` (QUANWANG_LANG, as an operator would set it)."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update({"QUANWANG_VAR_DIR": str(var), "QUANWANG_LANG": lang})
    process = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(list(runs))],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    return [Run(*run) for run in json.loads(process.stdout.strip().splitlines()[-1])]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var = tmp_path_factory.mktemp("migrated") / "var"
    [result] = _quanwang(["migrate"], var=var)
    assert result.returncode == 0, result.stderr
    return var


@pytest.fixture
def var(migrated: Path, tmp_path: Path) -> Path:
    """A var folder of its own, with the migrated database."""
    copy = tmp_path / "cli-var"
    shutil.copytree(migrated, copy)
    return copy


def _write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _one_line(result: Run) -> str:
    assert "Traceback" not in result.stderr
    assert "CommandError" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_failed_import_says_one_line_of_cause_and_exits_1(var: Path, tmp_path: Path) -> None:
    # Given files the import cannot use, and names it does not know
    garbage = bytes(range(128, 256)) * 20
    plans = str(_write(tmp_path, "p.csv", PLANS))
    cases = {
        "找不到文件": ["plans", str(tmp_path / "nowhere.csv")],
        "garbage.csv": ["plans", str(_write(tmp_path, "garbage.csv", garbage))],
        "broken.xlsx": ["plans", str(_write(tmp_path, "broken.xlsx", garbage))],
        "broken.parquet": ["plans", str(_write(tmp_path, "broken.parquet", garbage))],
        "no-such-mapping": ["plans", plans, "--mapping", "no-such-mapping"],
        "planz": ["planz", plans],
    }

    # When each is imported from the command line (in Chinese, the default)
    results = _quanwang(*(["import", *args] for args in cases.values()), var=var)

    # Then each exits 1 with one line naming the cause, and no Python
    for expected, result in zip(cases, results, strict=True):
        assert result.returncode == 1, (expected, result.stderr)
        assert expected in _one_line(result), expected


def test_a_failure_is_said_in_english_on_request_and_the_help_gives_the_exit_statuses(
    var: Path, tmp_path: Path
) -> None:
    failed, helped = _quanwang(
        ["import", "plans", str(tmp_path / "nowhere.csv")], ["import", "--help"], var=var,
        lang="en",
    )  # fmt: skip

    assert failed.returncode == 1
    assert _one_line(failed).startswith("File not found")
    assert "4 every row quarantined" in " ".join(helped.stdout.split())


def test_the_exit_status_tells_apart_loaded_some_quarantined_none_loaded_and_refused(
    var: Path, tmp_path: Path
) -> None:
    # Given plans, then a file with one bad plan, a file of subscribers none of which has a
    # known plan, and a file that would replace the plans with none
    header = "subscriber_id,msisdn,segment,payment_type,join_date,status,plan_id\n"
    orphan = "S1,13800000001,个人,prepaid,2020-01-05,active,PX\n"  # no plan PX
    files = {
        "plans": _write(tmp_path, "plans.csv", PLANS),
        "partial": _write(tmp_path, "partial.csv", PLANS + BAD_PLAN),
        "orphans": _write(tmp_path, "subs.csv", header + orphan),
        "empty": _write(tmp_path, "empty.csv", PLANS.splitlines()[0] + "\n"),
    }

    # When each is imported in turn
    loaded, partial, orphans, refused = _quanwang(
        ["import", "plans", str(files["plans"])],
        ["import", "plans", str(files["partial"])],
        ["import", "subscribers", str(files["orphans"])],
        ["import", "plans", str(files["empty"])],
        var=var,
        lang="en",
    )

    # Then the exit status says what happened
    assert (loaded.returncode, partial.returncode, orphans.returncode) == (0, 3, 4)
    assert refused.returncode == 1
    assert "--allow-empty" in _one_line(refused)
    assert "Traceback" not in loaded.stderr + partial.stderr + orphans.stderr


def test_the_cli_reports_the_columns_it_updated(db: None, tmp_path: Path) -> None:
    out = io.StringIO()

    call_command("import", "plans", str(_write(tmp_path, "p.csv", PLANS)), stdout=out)

    assert "plan_id, name, plan_type, monthly_fee, data_gb, voice_minutes, is_5g" in out.getvalue()


def _upload(client: Any, tmp_path: Path, name: str, text: str | bytes) -> Job:
    path = _write(tmp_path, "upload.bin", text)
    with path.open("rb") as handle:
        content = handle.read()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/data/import/", {"table": "plans", "file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 302
    return execute_job(job_id=Job.objects.latest("pk").pk)


def test_the_console_names_the_users_file_in_the_result_the_rejected_rows_and_the_download(
    tree: Any, client: Any, tmp_path: Path
) -> None:
    # Given a province admin who uploads 我的套餐.csv with one bad plan
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    job = _upload(client, tmp_path, "我的套餐.csv", PLANS + BAD_PLAN)

    # Then the job, the rejected rows and the download name that file
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["file"] == "我的套餐.csv"
    download = client.get(f"/jobs/{job.pk}/rejected-rows/")
    assert "%E6%88%91%E7%9A%84%E5%A5%97%E9%A4%90-rejected.csv" in download["Content-Disposition"]
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert [row["file"] for row in csv.DictReader(io.StringIO(text))] == ["我的套餐.csv"]
    page = client.get(f"/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Columns updated" in page


def test_a_failed_console_import_names_the_users_file_not_the_stored_one(
    tree: Any, client: Any, tmp_path: Path
) -> None:
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    job = _upload(client, tmp_path, "坏文件.parquet", bytes(range(256)) * 4)

    assert job.status == JobStatus.FAILED
    assert job.error.startswith("坏文件.parquet")
    assert ".parquet" not in job.error.replace("坏文件.parquet", "")


def _mapping_file(tmp_path: Path) -> Path:
    spec = {
        "columns": {"plan_id": {"from": "套餐编号"}, "monthly_fee": {"from": "月租", "unit": "fen"}}
    }
    return _write(tmp_path, "boss.json", json.dumps(spec, ensure_ascii=False))


def test_a_mapping_saved_from_the_cli_belongs_to_the_root_and_the_province_uses_it(
    tree: Any, client: Any, tmp_path: Path
) -> None:
    # Given a mapping saved from the command line without a user
    call_command("mapping", "save", "boss-plans", "plans", str(_mapping_file(tmp_path)))

    # Then it belongs to the root unit, and a province admin sees it and imports with it
    mapping = ImportMapping.objects.get(name="boss-plans")
    assert mapping.org_unit == tree.province
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    assert "boss-plans" in client.get("/data/mappings/").content.decode()
    boss = "套餐编号,name,plan_type,月租,is_5g\nP1,畅享,postpaid,12900,是\n"
    with _write(tmp_path, "boss.csv", boss).open("rb") as handle:
        response = client.post(
            "/data/import/", {"table": "plans", "file": handle, "mapping": mapping.pk}
        )
    assert response.status_code == 302
    job = execute_job(job_id=Job.objects.latest("pk").pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["loaded"] == 1


def test_a_mapping_saved_from_the_cli_for_a_city_is_seen_by_that_citys_marketer(
    tree: Any, client: Any, tmp_path: Path
) -> None:
    call_command(
        "mapping", "save", "city-plans", "plans", str(_mapping_file(tmp_path)), "--org", "CA"
    )

    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    assert "city-plans" in client.get("/data/mappings/").content.decode()
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_b))
    assert "city-plans" not in client.get("/data/mappings/").content.decode()


def test_a_mapping_saved_as_a_user_lands_at_their_unit(tree: Any, tmp_path: Path) -> None:
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    call_command(
        "mapping", "save", "mine", "plans", str(_mapping_file(tmp_path)), "--as",
        marketer.username,
    )  # fmt: skip

    assert ImportMapping.objects.get(name="mine").org_unit == tree.city_a


def test_a_mapping_the_system_saved_before_the_org_tree_moves_to_the_root_when_saved_again(
    db: None, tmp_path: Path
) -> None:
    call_command("mapping", "save", "early", "plans", str(_mapping_file(tmp_path)))
    assert ImportMapping.objects.get(name="early").org_unit is None
    tree = factories.Tree()

    call_command("mapping", "save", "early", "plans", str(_mapping_file(tmp_path)))

    assert [m.org_unit for m in ImportMapping.objects.filter(name="early")] == [tree.province]


def test_the_new_mapping_box_shows_an_example_not_null(tree: Any, client: Any) -> None:
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    page = client.get("/data/mappings/new/").content.decode()

    assert "null</textarea>" not in page
    assert "placeholder=" in page
    assert "customerID" in page


def _blocks(kind: str) -> list[str]:
    """The ```kind blocks of docs/mappings.md, in order."""
    text = (Path(__file__).parents[2] / "docs" / "mappings.md").read_text(encoding="utf-8")
    return [part.split("```", 1)[0] for part in text.split(f"```{kind}\n")[1:]]


def test_the_worked_boss_example_of_the_mapping_docs_loads(db: None, tmp_path: Path) -> None:
    # Given the BOSS exports (as GBK) and mappings of docs/mappings.md, saved from the CLI
    from quanwang.data.importer import import_file
    from quanwang.data.warehouse import Warehouse

    import_file(table_name="plans", path=_write(tmp_path, "plans.csv", PLANS))
    subscribers_csv, usage_csv = _blocks("csv")
    rules = {"rules": "", "subscribers": "", "usage": ""}
    rules["rules"], rules["subscribers"], rules["usage"] = _blocks("json")
    for name, table in (("subscribers", "subscribers"), ("usage", "monthly_usage")):
        spec = _write(tmp_path, f"{name}.json", rules[name])
        call_command("mapping", "save", f"boss-{name}", table, str(spec))

    # When they are imported with them
    out = io.StringIO()
    for table, name, text in (
        ("subscribers", "subscribers", subscribers_csv),
        ("monthly_usage", "usage", usage_csv),
    ):
        source = _write(tmp_path, f"{name}.csv", text.encode("gbk"))
        call_command("import", table, str(source), "--mapping", f"boss-{name}", stdout=out)

    # Then every row loaded with the values the docs say
    store = Warehouse()
    subscribers = duckdb.sql(
        "SELECT subscriber_id, msisdn, segment, payment_type, join_date, status, churn_date, "
        f"consent_sms, do_not_disturb FROM {store.relation('subscribers')} ORDER BY 1"
    ).fetchall()
    assert [tuple(str(v) for v in row) for row in subscribers] == [
        ("10086001", "13800138000", "个人", "postpaid", "2019-03-08", "active", "None",
         "True", "False"),
        ("10086002", "13900139000", "家庭", "prepaid", "2021-11-20", "churned", "2024-05-15",
         "False", "True"),
    ]  # fmt: skip
    usage = duckdb.sql(
        "SELECT subscriber_id, month, arpu, mou, dou_gb, used_5g_network FROM "
        f"{store.relation('monthly_usage')} ORDER BY 1"
    ).fetchall()
    assert usage == [
        ("10086001", "2024-06", 129.0, 312.0, 20.0, True),
        ("10086002", "2024-06", 58.0, 95.0, 3.0, False),
    ]
