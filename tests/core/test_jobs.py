from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from quanwang.core.choices import JobKind, JobStatus, Role
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import HANDLERS, JobContext, execute_job
from quanwang.core.models import Job, OrgUnit
from quanwang.core.services.jobs import cancel_job, retry_job, start_job, start_job_once
from tests import factories

ROWS = "code,name,name_en,level,parent_code\n" + "".join(
    f"CA-1-N{i},新网格{i},Grid {i},grid,CA-1\n" for i in range(30)
)


def _csv(tmp_path: Path, text: str = ROWS) -> Path:
    path = tmp_path / "org.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _import_job(tmp_path: Path, tree: factories.Tree, text: str = ROWS) -> Job:
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    return start_job(
        actor=user,
        kind=JobKind.IMPORT_ORG_UNITS,
        org_unit=tree.city_a,
        params={"path": str(_csv(tmp_path, text)), "filename": "org.csv"},
        background=False,
    )


def test_a_job_reports_progress_and_its_result(tree: factories.Tree, tmp_path: Path) -> None:
    # Given a queued import job
    job = _import_job(tmp_path, tree)
    seen: list[tuple[int, int | None]] = []

    # When it runs
    finished = execute_job(job_id=job.pk, listener=lambda j: seen.append((j.done, j.total)))

    # Then it succeeded, progress went from 0 to the total, and the result counts the rows
    assert finished.status == JobStatus.SUCCEEDED
    assert seen[0] == (0, 30)
    assert (finished.done, finished.total) == (30, 30)
    assert finished.result is not None
    assert finished.result["loaded"] == 30


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_runs_a_queued_job(tmp_path: Path) -> None:
    # Given a job queued for the worker (committed, as the worker reads it from its own poll)
    tree = factories.Tree()
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    job = start_job(
        actor=user,
        kind=JobKind.IMPORT_ORG_UNITS,
        org_unit=tree.city_a,
        params={"path": str(_csv(tmp_path)), "filename": "org.csv"},
    )

    # When the worker processes its queue
    call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    # Then the job ran to success
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.task_result_id


def test_cancelling_a_queued_job_stops_it_before_it_runs(
    tree: factories.Tree, tmp_path: Path
) -> None:
    job = _import_job(tmp_path, tree)

    cancel_job(actor=job.created_by, job_id=job.pk)
    finished = execute_job(job_id=job.pk)

    assert finished.status == JobStatus.CANCELLED
    assert not OrgUnit.objects.filter(code="CA-1-N0").exists()


def test_a_running_job_stops_at_its_next_progress_report(tree: factories.Tree) -> None:
    # Given a job whose handler is cancelled while it runs
    def slow(ctx: JobContext, **_params: object) -> dict[str, object]:
        ctx.progress(done=0, total=10, stage="working")
        cancel_job(actor=ctx.job.created_by, job_id=ctx.job.pk)
        ctx.progress(done=1, force=True)
        raise AssertionError("not reached")

    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    job = Job.objects.create(kind=JobKind.IMPORT_ORG_UNITS, org_unit=tree.city_a, created_by=user)
    original = HANDLERS[JobKind.IMPORT_ORG_UNITS]
    HANDLERS[JobKind.IMPORT_ORG_UNITS] = slow
    try:
        finished = execute_job(job_id=job.pk)
    finally:
        HANDLERS[JobKind.IMPORT_ORG_UNITS] = original

    # Then it ends cancelled
    assert finished.status == JobStatus.CANCELLED


def test_a_failed_job_shows_its_error_and_can_be_retried(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given an import of a file that is not there yet: a defect's error, not one for people
    job = _import_job(tmp_path, tree)
    Path(job.params["path"]).unlink()
    with translation.override("en"):
        failed = execute_job(job_id=job.pk)
    assert failed.status == JobStatus.FAILED
    assert f"unexpected error (job #{job.pk})" in failed.error
    assert "FileNotFoundError" not in failed.error

    # When the file is put back and the job retried
    _csv(tmp_path)
    retry_job(actor=job.created_by, job_id=job.pk)
    finished = execute_job(job_id=job.pk)

    # Then the second attempt succeeds
    assert (finished.status, finished.attempts, finished.error) == (JobStatus.SUCCEEDED, 2, "")


def test_a_finished_job_cannot_be_cancelled(tree: factories.Tree, tmp_path: Path) -> None:
    job = _import_job(tmp_path, tree)
    execute_job(job_id=job.pk)

    with pytest.raises(ServiceError):
        cancel_job(actor=job.created_by, job_id=job.pk)


def test_a_succeeded_job_cannot_be_retried(tree: factories.Tree, tmp_path: Path) -> None:
    job = _import_job(tmp_path, tree)
    execute_job(job_id=job.pk)

    with pytest.raises(ServiceError):
        retry_job(actor=job.created_by, job_id=job.pk)


def test_a_job_failing_on_a_defect_shows_a_generic_message_without_python(
    tree: factories.Tree,
) -> None:
    # Given a job whose handler fails on an exception not written for people
    def broken(ctx: JobContext, **_params: object) -> dict[str, object]:
        ctx.progress(done=0, total=1, stage="working")
        raise KeyError("secret_column")

    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    job = Job.objects.create(kind=JobKind.IMPORT_ORG_UNITS, org_unit=tree.city_a, created_by=user)
    original = HANDLERS[JobKind.IMPORT_ORG_UNITS]
    HANDLERS[JobKind.IMPORT_ORG_UNITS] = broken
    try:
        # When it runs
        with translation.override("en"):
            failed = execute_job(job_id=job.pk)
    finally:
        HANDLERS[JobKind.IMPORT_ORG_UNITS] = original

    # Then its page says it stopped unexpectedly, with no exception, value or traceback
    failed.refresh_from_db()
    assert failed.status == JobStatus.FAILED
    assert f"unexpected error (job #{job.pk})" in failed.error
    shown = " ".join([failed.error, *map(str, failed.messages)])
    for python in ("KeyError", "secret_column", "Traceback", 'File "'):
        assert python not in shown


def test_a_job_failing_on_an_import_error_shows_its_message(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given a table import of an empty file
    path = tmp_path / "plans.csv"
    path.write_text("", encoding="utf-8")
    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    job = start_job(
        actor=user,
        kind=JobKind.IMPORT_TABLE,
        org_unit=tree.province,
        params={"table": "plans", "path": str(path), "filename": "plans.csv"},
        background=False,
    )

    # When it runs
    with translation.override("en"):
        failed = execute_job(job_id=job.pk)

    # Then its page shows the importer's message, naming the file
    failed.refresh_from_db()
    assert failed.status == JobStatus.FAILED
    assert failed.error == "plans.csv: the file is empty"


def test_a_province_job_started_twice_is_one_job_until_it_finishes(tree: factories.Tree) -> None:
    # given a province admin starting the re-grade of a month
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)

    def start(month: str) -> Job:
        return start_job_once(
            actor=admin, kind=JobKind.REGRADE_STORES, params={"month": month}, background=False
        )

    first = start("2024-12")
    # when the same month is asked for again while it is queued, and another month too
    again, other = start("2024-12"), start("2024-11")
    # then the same month answers with the queued job, filed under the root
    assert again.pk == first.pk
    assert first.org_unit == tree.province
    assert other.pk != first.pk
    # and once it has finished, asking again starts a new one
    Job.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)
    assert start("2024-12").pk not in {first.pk, other.pk}
