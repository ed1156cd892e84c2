"""Jobs hold a lease: a job whose process died is interrupted, can be cancelled and retried;
a run that lost its job writes nothing more. Real worker processes killed with SIGKILL."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from quanwang.core.choices import JobKind, JobStatus, Role
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import JobContext, execute_job
from quanwang.core.models import Job, OrgUnit
from quanwang.core.services.jobs import (
    cancel_job,
    interrupt_lapsed_jobs,
    retry_job,
    start_job,
)
from quanwang.core.services.tokens import create_token
from quanwang.core.terminal import SYSTEM_USERNAME, command_actor
from tests import factories
from tests.core.processes import process_env, slow_handler, slow_worker, stop, wait_for

LONG_AGO = dt.timedelta(minutes=5)


def _running(tree: factories.Tree, *, lease_left: dt.timedelta) -> Job:
    """A job a worker claimed, whose lease ends `lease_left` from now (negative: lapsed)."""
    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    now = timezone.now()
    return Job.objects.create(
        kind=JobKind.TRAIN_CHURN,
        org_unit=tree.province,
        created_by=user,
        status=JobStatus.RUNNING,
        attempts=1,
        started_at=now - LONG_AGO,
        worker="gone:1",
        heartbeat_at=now - LONG_AGO,
        lease_expires_at=now + lease_left,
    )


def test_a_job_whose_lease_lapsed_is_interrupted(tree: factories.Tree) -> None:
    # Given a running job whose worker stopped renewing its lease, and a live one
    dead = _running(tree, lease_left=-dt.timedelta(seconds=1))
    live = _running(tree, lease_left=dt.timedelta(seconds=30))

    # When lapsed leases are noticed
    marked = interrupt_lapsed_jobs()

    # Then only the dead one is interrupted
    dead.refresh_from_db()
    live.refresh_from_db()
    assert (marked, dead.status, live.status) == (1, JobStatus.INTERRUPTED, JobStatus.RUNNING)
    assert dead.finished_at is not None


def test_the_job_pages_notice_a_dead_worker(tree: factories.Tree, login: Any) -> None:
    # Given a running job whose worker died
    job = _running(tree, lease_left=-dt.timedelta(seconds=1))
    client = login(job.created_by)

    # When its owner opens the job list, then the job
    listing = client.get("/jobs/").content.decode()
    detail = client.get(f"/jobs/{job.pk}/").content.decode()

    # Then it shows as interrupted, with Retry and no Cancel
    job.refresh_from_db()
    assert job.status == JobStatus.INTERRUPTED
    assert 'class="status-interrupted"' in listing
    assert 'id="job-interrupted"' in detail
    assert f"/jobs/{job.pk}/retry/" in detail
    assert f"/jobs/{job.pk}/cancel/" not in detail


def test_the_api_notices_a_dead_worker(tree: factories.Tree, client: Client) -> None:
    job = _running(tree, lease_left=-dt.timedelta(seconds=1))
    _token, secret = create_token(user=job.created_by, name="cli")

    answer = client.get(f"/api/v1/jobs/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert answer.status_code == 200
    assert answer.json()["status"] == JobStatus.INTERRUPTED


def test_cancelling_a_job_whose_worker_died_cancels_it_at_once(tree: factories.Tree) -> None:
    # Given a running job whose worker died (nobody will ever see the cancel request)
    job = _running(tree, lease_left=-dt.timedelta(seconds=1))

    # When it is cancelled
    cancel_job(actor=job.created_by, job_id=job.pk)

    # Then it is cancelled now
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (JobStatus.CANCELLED, True)
    assert job.finished_at is not None


def test_cancelling_a_live_running_job_asks_its_worker(tree: factories.Tree) -> None:
    job = _running(tree, lease_left=dt.timedelta(seconds=30))

    cancel_job(actor=job.created_by, job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (JobStatus.RUNNING, True)


def test_a_cancel_asked_of_a_job_that_then_died_ends_cancelled(tree: factories.Tree) -> None:
    # Given a cancel requested of a running job whose worker then died
    job = _running(tree, lease_left=-dt.timedelta(seconds=1))
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)

    interrupt_lapsed_jobs()

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_a_job_whose_worker_died_can_be_retried(tree: factories.Tree) -> None:
    # Given a running job whose worker died
    job = _running(tree, lease_left=-dt.timedelta(seconds=1))

    # When it is retried (before anything noticed the lapse)
    retry_job(actor=job.created_by, job_id=job.pk)

    # Then it is queued again as its second attempt, without the dead run's lease
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 2)
    assert (job.worker, job.lease_expires_at, job.heartbeat_at) == ("", None, None)


def test_a_job_with_a_live_worker_cannot_be_retried(tree: factories.Tree) -> None:
    job = _running(tree, lease_left=dt.timedelta(seconds=30))

    with pytest.raises(ServiceError):
        retry_job(actor=job.created_by, job_id=job.pk)


def test_a_run_that_lost_its_job_writes_nothing_more(tree: factories.Tree) -> None:
    # Given a run whose job was interrupted and retried while it was still going (a worker
    # frozen past its lease, then woken)
    def frozen(ctx: JobContext, **_params: object) -> dict[str, object]:
        ctx.progress(done=0, total=10, stage="working")
        Job.objects.filter(pk=ctx.job.pk).update(lease_expires_at=timezone.now() - LONG_AGO)
        interrupt_lapsed_jobs()
        retry_job(actor=ctx.job.created_by, job_id=ctx.job.pk)
        ctx.progress(done=5, force=True)
        raise AssertionError("not reached")

    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    job = start_job(
        actor=user, kind=JobKind.TRAIN_CHURN, org_unit=tree.province, params={}, background=False
    )
    with slow_handler(frozen):
        execute_job(job_id=job.pk)

    # Then the retry stands: queued for its second attempt, not overwritten by the old run
    job.refresh_from_db()
    assert (job.status, job.attempts, job.done) == (JobStatus.QUEUED, 2, 0)


def test_ctrl_c_in_a_foreground_run_interrupts_its_job(tree: factories.Tree) -> None:
    def interrupted(ctx: JobContext, **_params: object) -> dict[str, object]:
        ctx.progress(done=0, total=10, stage="working")
        raise KeyboardInterrupt

    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    job = start_job(
        actor=user, kind=JobKind.TRAIN_CHURN, org_unit=tree.province, params={}, background=False
    )
    with slow_handler(interrupted), pytest.raises(KeyboardInterrupt):
        execute_job(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.INTERRUPTED


def test_a_silent_handler_keeps_its_lease(shared_db: None, settings: Any) -> None:
    # Given a lease of 1 s, and a handler in one long call that reports nothing for 3 s
    # (a DuckDB query) while lapsed leases are looked for (as a console page would)
    settings.QUANWANG_JOB_LEASE_SECONDS = 1.0
    settings.QUANWANG_WORKER_HEARTBEAT_SECONDS = 0.1

    def long_query(ctx: JobContext, **_params: object) -> dict[str, object]:
        ctx.progress(done=0, total=1, stage="query")
        time.sleep(3.0)
        interrupt_lapsed_jobs()
        ctx.progress(done=1)
        return {}

    tree = factories.Tree()
    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    job = start_job(
        actor=user, kind=JobKind.TRAIN_CHURN, org_unit=tree.province, params={}, background=False
    )

    # When it runs
    with slow_handler(long_query):
        finished = execute_job(job_id=job.pk)

    # Then its heartbeat kept the lease: it was never interrupted, and succeeded
    assert finished.status == JobStatus.SUCCEEDED


def test_a_cli_job_without_a_user_belongs_to_the_system_and_the_root(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # Given an org tree file imported from the command line without --user
    source = tmp_path / "org.csv"
    source.write_text("code,name,level,parent_code\nCA-1-N1,新网格,grid,CA-1\n", encoding="utf-8")
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)

    call_command("import", "org-units", str(source), verbosity=0)

    # Then the job belongs to the system account and the root, so the province admin sees it
    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED
    assert (job.created_by.username, job.org_unit) == (SYSTEM_USERNAME, tree.province)
    assert Job.objects.restrict(admin).filter(pk=job.pk).exists()
    assert not job.created_by.has_usable_password()


def test_the_first_org_tree_import_files_its_job_under_the_new_root(
    db: None, tmp_path: Path
) -> None:
    # Given an empty database, and the first org tree imported from the command line
    source = tmp_path / "org.csv"
    source.write_text("code,name,level,parent_code\nGD,广东,group,\n", encoding="utf-8")

    call_command("import", "org-units", str(source), verbosity=0)

    # Then the job files under the root it created
    job = Job.objects.get()
    assert job.org_unit == OrgUnit.objects.get(code="GD")


def test_a_person_called_system_is_not_the_system_account(db: None) -> None:
    factories.user(username=SYSTEM_USERNAME)

    with pytest.raises(CommandError, match=SYSTEM_USERNAME):
        command_actor(None)


def _slow_job(tree: factories.Tree, **params: Any) -> Job:
    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    return start_job(actor=user, kind=JobKind.TRAIN_CHURN, org_unit=tree.province, params=params)


def _status(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def test_a_job_killed_mid_run_is_interrupted_and_a_retry_finishes_it(
    shared_db: None, settings: Any, tmp_path: Path
) -> None:
    # Given a slow job running in a real worker process
    env, log = process_env(settings), tmp_path / "workers.log"
    job = _slow_job(factories.Tree(), hang_first_attempt=True)
    first = slow_worker(env=env, log=log)
    wait_for(lambda: _status(job) == JobStatus.RUNNING, why="the job to run", log=log)

    # When the worker is killed with SIGKILL, mid-job, and another worker starts
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    second = slow_worker(env=env, log=log)
    try:
        # Then the job is marked interrupted once its lease lapses (the worker notices)
        wait_for(lambda: _status(job) == JobStatus.INTERRUPTED, why="the job interrupted", log=log)

        # And a retry queues it again, and the live worker finishes it
        retry_job(actor=job.created_by, job_id=job.pk)
        wait_for(lambda: _status(job) == JobStatus.SUCCEEDED, why="the retry", log=log)
    finally:
        stop(second)
    job.refresh_from_db()
    assert job.attempts == 2
    assert job.result == {"attempt": 2, "pid": second.pid}


def test_cancel_stops_a_job_running_in_a_worker_process(
    shared_db: None, settings: Any, tmp_path: Path
) -> None:
    # Given a job that would run for ever in a real worker
    env, log = process_env(settings), tmp_path / "worker.log"
    job = _slow_job(factories.Tree(), hang_first_attempt=True)
    worker = slow_worker(env=env, log=log)
    try:
        wait_for(lambda: _status(job) == JobStatus.RUNNING, why="the job to run", log=log)

        # When it is cancelled
        cancel_job(actor=job.created_by, job_id=job.pk)

        # Then the worker stops it, and lives on
        wait_for(lambda: _status(job) == JobStatus.CANCELLED, why="the cancel", log=log)
        time.sleep(0.2)
        assert worker.poll() is None
    finally:
        stop(worker)
