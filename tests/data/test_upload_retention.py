"""Uploaded import files hold subscribers' numbers: private while they wait, gone once the job
has ended (or after the retention setting), and so are the files of jobs that never ran."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from quanwang.core.choices import JobKind, JobStatus, Role
from quanwang.core.jobs import execute_job, quarantine_path
from quanwang.core.models import Job
from quanwang.core.services.jobs import cancel_job, retry_job
from quanwang.core.uploads import ORPHAN_GRACE_SECONDS, store_upload, sweep_uploads, uploads_dir
from tests import factories

PLANS = "plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G畅享,postpaid,129,是\n"
BAD_PLANS = PLANS + "P2,坏套餐,prepaid,-5,否\n"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _upload(client: Client, tree: factories.Tree, tmp_path: Path, text: str = PLANS) -> Job:
    """A province admin uploads a plans file on the console; the job is queued, not run."""
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    path = tmp_path / "plans.csv"
    path.write_text(text, encoding="utf-8")
    with path.open("rb") as handle:
        response = client.post("/data/import/", {"table": "plans", "file": handle})
    assert response.status_code == 302
    return Job.objects.filter(kind=JobKind.IMPORT_TABLE).latest("pk")


def _uploads() -> list[Path]:
    folder = uploads_dir()
    return sorted(folder.iterdir()) if folder.exists() else []


def test_an_upload_is_private_while_it_waits(db: None) -> None:
    # Given a umask that would make files world-readable
    previous = os.umask(0o022)
    try:
        # When a file is uploaded
        stored = store_upload(SimpleUploadedFile("subs.csv", b"subscriber_id\nS1\n"))
    finally:
        os.umask(previous)

    # Then only its owner may read it, or enter its folder
    assert _mode(stored) == 0o600
    assert _mode(stored.parent) == 0o700


def test_an_uploads_folder_made_wider_before_is_narrowed(db: None) -> None:
    # Given an uploads folder left world-readable by an older version
    uploads_dir().mkdir(parents=True, mode=0o755)
    uploads_dir().chmod(0o755)

    # When a file is uploaded
    store_upload(SimpleUploadedFile("subs.csv", b"subscriber_id\nS1\n"))

    # Then the folder is private again
    assert _mode(uploads_dir()) == 0o700


@pytest.mark.parametrize("text", [PLANS, "no such columns\n1\n"], ids=["succeeded", "failed"])
def test_the_upload_is_deleted_when_its_import_ends(
    tree: factories.Tree, client: Client, tmp_path: Path, text: str
) -> None:
    # Given an uploaded import waiting for the worker
    job = _upload(client, tree, tmp_path, text)
    assert _uploads() == [Path(job.params["path"])]

    # When the job runs to its end, whether it succeeds or fails
    finished = execute_job(job_id=job.pk)

    # Then the upload is gone
    assert finished.status in {JobStatus.SUCCEEDED, JobStatus.FAILED}
    assert _uploads() == []


def test_the_upload_of_a_job_cancelled_while_running_is_deleted(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given an uploaded import whose cancel is requested as it starts
    job = _upload(client, tree, tmp_path)
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)

    # When it runs (and stops at its first progress report)
    finished = execute_job(job_id=job.pk)

    # Then it was cancelled and its upload deleted
    assert finished.status == JobStatus.CANCELLED
    assert _uploads() == []


def test_the_upload_of_a_job_cancelled_before_it_ran_is_swept(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given an uploaded import cancelled while queued (its handler never runs)
    job = _upload(client, tree, tmp_path)
    cancel_job(actor=job.created_by, job_id=job.pk)

    # When the uploads are swept
    removed = sweep_uploads()

    # Then its upload is deleted
    assert removed == [Path(job.params["path"])]
    assert _uploads() == []


def test_the_sweep_keeps_uploads_of_queued_jobs_and_fresh_orphans(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given a queued import, and a file no job names yet (its request is still running)
    job = _upload(client, tree, tmp_path)
    orphan = store_upload(SimpleUploadedFile("x.csv", b"a\n1\n"))

    # When the uploads are swept now, and again after the grace period
    first = sweep_uploads()
    later = sweep_uploads(now=time.time() + ORPHAN_GRACE_SECONDS + 1)

    # Then both stay at first; after the grace, only the queued job's upload stays
    assert first == []
    assert later == [orphan]
    assert _uploads() == [Path(job.params["path"])]


def test_the_upload_of_an_interrupted_job_is_swept(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given an uploaded import whose worker died: the job is no longer queued or running
    job = _upload(client, tree, tmp_path)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)

    # When the next upload sweeps the folder
    store_upload(SimpleUploadedFile("next.csv", b"a\n1\n"))

    # Then the dead job's upload is gone
    assert not Path(job.params["path"]).exists()


def test_with_a_retention_uploads_are_kept_for_that_long_then_swept(
    tree: factories.Tree, client: Client, tmp_path: Path, settings: Any
) -> None:
    # Given uploads kept for two days
    settings.QUANWANG_UPLOAD_RETENTION_DAYS = 2
    job = _upload(client, tree, tmp_path)
    stored = Path(job.params["path"])

    # When the job ends, and the folder is swept a day later and three days later
    execute_job(job_id=job.pk)
    kept = stored.exists()
    one_day = sweep_uploads(now=time.time() + 86400)
    three_days = sweep_uploads(now=time.time() + 3 * 86400)

    # Then the upload stays for the two days, and then goes
    assert kept
    assert one_day == []
    assert three_days == [stored]


def test_a_retried_import_whose_upload_was_deleted_says_to_upload_again(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given a failed import whose upload was deleted when it ended
    job = _upload(client, tree, tmp_path, "no such columns\n1\n")
    execute_job(job_id=job.pk)
    admin = Job.objects.get(pk=job.pk).created_by

    # When it is retried (its message read in English)
    retry_job(actor=admin, job_id=job.pk)
    with translation.override("en"):
        finished = execute_job(job_id=job.pk)

    # Then it fails saying the file must be uploaded again
    assert finished.status == JobStatus.FAILED
    assert "upload it again" in finished.error


def test_a_cli_import_leaves_the_users_own_file_alone(db: None, tmp_path: Path) -> None:
    from django.core.management import call_command

    # Given a file of the operator's, outside the uploads folder
    path = tmp_path / "plans.csv"
    path.write_text(PLANS, encoding="utf-8")

    # When it is imported from the command line
    call_command("import", "plans", str(path))

    # Then it is still there
    assert path.read_text(encoding="utf-8") == PLANS


def test_the_rejected_rows_file_and_its_folder_are_private(
    tree: factories.Tree, client: Client, tmp_path: Path
) -> None:
    # Given an import with a bad row, under a umask that would make files world-readable
    job = _upload(client, tree, tmp_path, BAD_PLANS)
    previous = os.umask(0o022)
    try:
        # When it runs
        finished = execute_job(job_id=job.pk)
    finally:
        os.umask(previous)

    # Then its rejected-rows file is readable by its owner only, in a private folder
    rejected = quarantine_path(finished.result["quarantine_file"])
    assert _mode(rejected) == 0o600
    assert _mode(rejected.parent) == 0o700
