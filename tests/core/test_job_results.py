"""A job's result on its page reads as text for people: codes by their labels, tables and
columns by their names, nothing missing shown as "None"."""

from __future__ import annotations

from pathlib import Path

from django.test import Client
from django.utils import translation

from quanwang.core.choices import JobKind, Role
from quanwang.core.jobs import execute_job, result_display
from quanwang.core.services.jobs import start_job
from quanwang.data.services import start_import
from tests import factories


def test_a_missing_value_is_a_dash_and_a_code_its_label() -> None:
    with translation.override("en"):
        assert result_display("deferred_until", None) == "—"
        assert result_display("engine", "duckdb") == "DuckDB"
        assert result_display("excluded", {"control_group": 3}) == "In the control group: 3"


def test_an_import_job_names_its_table_and_columns_in_chinese(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given a finished import of plans, one row of which is refused
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    path = tmp_path / "plans.csv"
    path.write_text(
        "plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G畅享,postpaid,129,是\nPX,坏,nope,1,否\n",
        encoding="utf-8",
    )
    job = start_import(
        actor=admin, table="plans", path=path, filename="套餐.csv", org_unit=tree.province,
        background=False, confirm_replace=True,
    )  # fmt: skip
    execute_job(job_id=job.pk)

    # When its page is read in Chinese
    client.force_login(admin)
    page = client.get(f"/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # Then the table and the columns it updated are named, not coded
    assert "<dd>套餐</dd>" in page
    assert "套餐编码、套餐名称、套餐类型、月费(元)、5G套餐" in page
    assert "plan_id" not in page


def test_an_org_import_names_the_refused_column_by_its_label(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given an org import with a code that breaks the rules
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    path = tmp_path / "org.csv"
    path.write_text(
        f"code,name,name_en,level,parent_code\n坏 码,坏,,grid,{tree.county_a.code}\n",
        encoding="utf-8",
    )
    job = start_job(
        actor=admin, kind=JobKind.IMPORT_ORG_UNITS, org_unit=tree.province,
        params={"path": str(path), "filename": "组织.csv"}, background=False,
    )  # fmt: skip
    execute_job(job_id=job.pk)

    # When its page is read (the log is written in the language the job ran in: Chinese)
    client.force_login(admin)
    page = client.get(f"/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    # Then the message names the column by its label
    assert "组织.csv，第 2 行，字段 编码 = “坏 码”" in page
