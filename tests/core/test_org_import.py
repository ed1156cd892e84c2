from __future__ import annotations

import csv
from pathlib import Path

from django.core.management import call_command
from django.test import Client

from quanwang.core.choices import JobKind, JobStatus, OrgLevel, Role
from quanwang.core.jobs import execute_job, quarantine_path
from quanwang.core.models import Job, OrgUnit
from quanwang.core.services.jobs import start_job
from tests import factories

HEADER = "code,name,name_en,level,parent_code\n"


def _run(
    tmp_path: Path,
    text: str,
    *,
    encoding: str = "utf-8",
    actor: object = None,
    org_unit: OrgUnit | None = None,
) -> Job:
    path = tmp_path / "org.csv"
    path.write_bytes(text.encode(encoding))
    job = start_job(
        actor=actor,
        kind=JobKind.IMPORT_ORG_UNITS,
        org_unit=org_unit,
        params={"path": str(path), "filename": "org.csv"},
        background=False,
    )
    return execute_job(job_id=job.pk)


def test_a_gbk_file_loads_a_whole_tree(db: None, tmp_path: Path) -> None:
    # Given a GBK-encoded org tree with Chinese level names, children before parents
    text = HEADER + "GZ,广州,Guangzhou,地市,GD\nGD,广东省公司,Guangdong,省,\nTH,天河,,区县,GZ\n"

    # When it is imported
    job = _run(tmp_path, text, encoding="gbk")

    # Then the tree is there with its paths
    assert job.status == JobStatus.SUCCEEDED
    assert dict(OrgUnit.objects.values_list("code", "path")) == {
        "GD": "/GD/",
        "GZ": "/GD/GZ/",
        "TH": "/GD/GZ/TH/",
    }
    assert OrgUnit.objects.get(code="TH").level == OrgLevel.COUNTY


def test_a_utf8_file_with_a_bom_loads(db: None, tmp_path: Path) -> None:
    job = _run(tmp_path, "\ufeff" + HEADER + "GD,广东,,group,\n")

    assert job.status == JobStatus.SUCCEEDED
    assert OrgUnit.objects.get().name == "广东"


def test_bad_rows_are_quarantined_with_row_and_field_and_good_rows_load(
    db: None, tmp_path: Path
) -> None:
    # Given a file with a bad level, a missing name, a duplicate, an unknown parent and a child
    # of a rejected row
    text = (
        HEADER
        + "GD,广东,,group,\n"  # row 2: good
        + "GZ,广州,,town,GD\n"  # row 3: bad level
        + "SZ,,,city,GD\n"  # row 4: missing name
        + "GD,重复,,group,\n"  # row 5: duplicate code
        + "FS,佛山,,city,NOPE\n"  # row 6: unknown parent
        + "GZ-1,越秀,,county,GZ\n"  # row 7: parent rejected
        + f"DG,{'东' * 101},,city,GD\n"  # row 8: name too long
    )

    # When it is imported
    job = _run(tmp_path, text)

    # Then the good row loaded and each bad row is named by row and field in the quarantine file
    assert job.status == JobStatus.SUCCEEDED
    assert list(OrgUnit.objects.values_list("code", flat=True)) == ["GD"]
    assert job.result is not None
    with quarantine_path(job.result["quarantine_file"]).open(encoding="utf-8-sig") as handle:
        rows = {(int(r["row"]), r["field"]) for r in csv.DictReader(handle)}
    assert rows == {
        (3, "level"),
        (4, "name"),
        (5, "code"),
        (6, "parent_code"),
        (7, "parent_code"),
        (8, "name"),
    }
    assert job.result["quarantined"] == 6


def test_importing_the_same_file_twice_gives_the_same_tree(db: None, tmp_path: Path) -> None:
    text = HEADER + "GD,广东,,group,\nGZ,广州,,city,GD\n"
    _run(tmp_path, text)
    first = list(OrgUnit.objects.values_list("code", "name", "path", "parent__code"))

    second_job = _run(tmp_path, text)

    assert list(OrgUnit.objects.values_list("code", "name", "path", "parent__code")) == first
    assert second_job.result is not None
    assert (second_job.result["created"], second_job.result["unchanged"]) == (0, 2)


def test_a_user_cannot_import_under_a_unit_outside_their_scope(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given a city marketer of city A importing a unit under city B
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    job = _run(tmp_path, HEADER + "X1,越界,,county,CB\n", actor=user)

    # Then the row is rejected and nothing was added
    assert job.result is not None
    assert job.result["loaded"] == 0
    assert not OrgUnit.objects.filter(code="X1").exists()


def test_the_cli_import_runs_in_the_foreground(db: None, tmp_path: Path, capsys: object) -> None:
    path = tmp_path / "org.csv"
    path.write_text(HEADER + "GD,广东,,group,\n", encoding="utf-8")

    call_command("import", "org-units", str(path))

    assert OrgUnit.objects.filter(code="GD").exists()
    assert Job.objects.get().status == JobStatus.SUCCEEDED


def test_the_rejected_rows_download_from_the_job_page(
    tree: factories.Tree, tmp_path: Path, client: Client
) -> None:
    # Given a county manager whose import rejected a row
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    job = _run(tmp_path, HEADER + "CA-1-G7,,,grid,CA-1\n", actor=user, org_unit=tree.county_a)
    client.force_login(user)

    # When they download the rejected rows from the job
    response = client.get(f"/jobs/{job.pk}/rejected-rows/")

    # Then the file names the row, the field and the reason
    text = b"".join(response).decode("utf-8-sig")
    assert response.status_code == 200
    assert "org.csv,2,name," in text
