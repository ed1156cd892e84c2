"""Two statement runs of one month at once (two clicks, the console and the CLI): one run
computes, the other gets its job or stops; never two statements of a store and month.

Threads with their own database connections, on PostgreSQL: the month's run row is locked
(select_for_update) and unique.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from quanwang.channels.commissions.services import runs
from quanwang.channels.models import CommissionRun, CommissionStatement
from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job
from tests import factories
from tests.channels.test_commissions_world import FIXED_50, World
from tests.concurrency import at_once as _at_once

pytestmark = pytest.mark.django_db(transaction=True)
# SQLite's shared in-memory test database refuses a second writer ("table is locked") where a
# server waits for the lock; the sequential test of the same rule runs everywhere
# (test_commissions_corrections: a job finding the month held by another live run stops).
ONLY_POSTGRES = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs a database server's row locks"
)


def _world(tmp_path: Path) -> World:
    world = World(factories.Tree(), tmp_path)
    world.rules(FIXED_50)
    for n in range(30):
        world.sale(f"A{n}", f"2024-06-{n % 28 + 1:02d}", store="S1" if n % 3 else "S2")
    world.refund("R1", "2024-06-20", "A1")
    world.put()
    return world


@ONLY_POSTGRES
def test_two_clicks_at_once_start_one_run(tmp_path: Path) -> None:
    # given June not yet computed
    world = _world(tmp_path)

    def click(actor: Any) -> Callable[[], int]:
        def start() -> int:
            return runs.start_run(actor=actor, month="2024-06", background=False).pk

        return start

    # when two people start June at the same moment
    first, second = _at_once(click(world.runner), click(world.admin))
    # then both got the same job: one run row, one job
    assert first == second, (first, second)
    assert Job.objects.filter(kind=JobKind.RUN_COMMISSIONS).count() == 1
    assert CommissionRun.objects.count() == 1


@ONLY_POSTGRES
def test_two_runs_at_once_never_duplicate_statements(tmp_path: Path) -> None:
    # given two jobs of June (the console's and the CLI's), and June's lines from one run alone
    world = _world(tmp_path)
    alone = world.run("2024-06")
    fingerprints = dict(CommissionStatement.objects.values_list("store_id", "fingerprint"))
    CommissionStatement.objects.all().delete()
    CommissionRun.objects.all().delete()
    jobs = [
        start_job(
            actor=actor,
            kind=JobKind.RUN_COMMISSIONS,
            org_unit=world.tree.province,
            params={"month": "2024-06"},
            background=False,
        )
        for actor in (world.runner, world.admin)
    ]
    # when both run at the same moment
    finished = _at_once(*(lambda job=job: execute_job(job_id=job.pk) for job in jobs))
    # then one statement per store, identical to a run alone; a run that lost says why
    statuses = sorted(job.status for job in finished)
    assert JobStatus.SUCCEEDED in statuses
    for job in finished:
        assert job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED), job.error
        if job.status == JobStatus.FAILED:
            assert "2024-06" in job.error
    assert CommissionStatement.objects.count() == len(fingerprints) == 2
    assert dict(CommissionStatement.objects.values_list("store_id", "fingerprint")) == fingerprints
    run = CommissionRun.objects.get()
    assert run.lines_sha256 == alone["lines_sha256"]
