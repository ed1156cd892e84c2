"""Exactly-once dispatch with real worker processes (`quanwang worker`, django-tasks-db) on the
test database, SQLite or PostgreSQL, against a real loopback SMS gateway."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.models import Campaign
from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.models import Job
from quanwang.core.services.jobs import retry_job, start_job
from tests import factories
from tests.campaigns.dispatching import (
    allowed,
    customers,
    finish,
    issued_campaign,
    process_env,
    quanwang,
    worker,
)
from tests.campaigns.gateway import Gateway
from tests.processes import database_shared_with_processes

TEN_AM = "2024-07-02T10:00:00+08:00"


@pytest.fixture
def shared_db(transactional_db: None, settings: Any) -> Iterator[None]:
    """The test database where the worker processes see it (tests.processes)."""
    with database_shared_with_processes(settings):
        yield


def _campaign(tmp_path: Path, count: int) -> Campaign:
    return issued_campaign(frozen=customers(tmp_path, count))


def _exactly_once(gateway: Gateway, count: int) -> None:
    twice = {key: n for key, n in gateway.received.items() if n > 1}
    assert not twice, f"{len(twice)} customers got the step more than once"
    assert gateway.subscribers() == allowed(count)


def test_two_requests_and_two_workers_send_each_customer_once(
    shared_db: None, tmp_path: Path, settings: Any
) -> None:
    # Given an issued campaign of 400 customers and a gateway that takes 20 ms a batch
    count = 400
    campaign = _campaign(tmp_path, count)
    gateway = Gateway(delay=0.02)
    env = process_env(settings, {"sms": {"url": gateway.url, "token": "t", "batch_size": 20}})
    request = [
        "dispatch", str(campaign.pk), "--step", "s1", "--channel", "sms", "--text", "续约有礼",
        "--at", TEN_AM, "--background",
    ]  # fmt: skip

    # When the step is requested twice at once, and two workers run the queue
    answers = [finish(p) for p in [quanwang(*request, env=env), quanwang(*request, env=env)]]
    workers = [worker(env), worker(env)]
    for process in workers:
        finish(process)
    gateway.close()

    # Then every customer got exactly one message, and both requests got the same job
    _exactly_once(gateway, count)
    assert answers[0] == answers[1], answers
    assert Job.objects.filter(kind=JobKind.DISPATCH_CAMPAIGN).count() == 1


def test_two_jobs_for_one_step_never_both_send(
    shared_db: None, tmp_path: Path, settings: Any
) -> None:
    # Given two jobs for the same step (as two requests made before the fix did)
    count = 400
    campaign = _campaign(tmp_path, count)
    gateway = Gateway(delay=0.02)
    env = process_env(settings, {"sms": {"url": gateway.url, "token": "t"}})
    params = {
        "campaign_id": campaign.pk, "step": "s1", "channel": str(Channel.SMS), "text": "t",
        "send_at": TEN_AM, "batch_size": 20,
    }  # fmt: skip
    jobs = [
        start_job(actor=None, kind=JobKind.DISPATCH_CAMPAIGN, org_unit=None, params=params)
        for _ in range(2)
    ]

    # When two workers run them at the same time
    workers = [worker(env), worker(env)]
    for process in workers:
        finish(process)
    gateway.close()

    # Then every customer got one message; a job that found the step taken sent nothing
    _exactly_once(gateway, count)
    for job in jobs:
        job.refresh_from_db()
    assert {job.status for job in jobs} <= {JobStatus.SUCCEEDED, JobStatus.FAILED}
    assert any(job.status == JobStatus.SUCCEEDED for job in jobs)
    for job, other in (jobs, jobs[::-1]):
        if job.status == JobStatus.FAILED:
            assert f"#{other.pk}" in job.error, job.error  # the job that holds the step


def test_a_worker_killed_mid_batch_is_resumed_without_sending_anyone_twice(
    shared_db: None, tmp_path: Path, settings: Any
) -> None:
    # Given a dispatch whose 6th batch the gateway receives but does not answer
    count, batch = 600, 20
    campaign = _campaign(tmp_path, count)
    gateway = Gateway(hold_after=5)
    env = process_env(settings, {"sms": {"url": gateway.url, "token": "t"}})
    job = start_job(
        actor=None, kind=JobKind.DISPATCH_CAMPAIGN, org_unit=None,
        params={"campaign_id": campaign.pk, "step": "s1", "channel": "sms", "text": "t",
                "send_at": TEN_AM, "batch_size": batch},
    )  # fmt: skip
    first = worker(env)
    deadline = time.monotonic() + 120
    while not gateway.held.is_set():
        assert first.poll() is None, first.communicate()[1].decode()[-3000:]
        assert time.monotonic() < deadline, "the dispatch never reached the gateway"
        time.sleep(0.01)

    # When the worker is killed (kill -9) while that batch's outcome is unknown to it, the
    # job is marked as failed (as the lease check does for a dead worker), and retried
    first.kill()
    first.wait()
    gateway.release()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    retry_job(actor=factories.user(is_superuser=True), job_id=job.pk)
    finish(worker(env))
    gateway.close()

    # Then nobody got the step twice and nobody was skipped; the batch in flight is recorded
    # as unknown (not re-sent)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert gateway.requests == -(-len(allowed(count)) // batch)
    _exactly_once(gateway, count)
    assert job.result["unknown"] == batch
    assert job.result["sent"] == len(allowed(count)) - batch
