"""A step held back by the quiet hours goes out when the sending window opens (issue 13 item
3), on a clock the test sets (campaigns.clock), never by sleeping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from quanwang.campaigns import clock
from quanwang.campaigns.choices import Channel, DispatchState
from quanwang.campaigns.models import Campaign, DispatchStep
from quanwang.campaigns.policy import SHANGHAI
from quanwang.campaigns.services import start_dispatch
from quanwang.core.choices import JobStatus
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.dispatching import issued_with_sms_consent
from tests.campaigns.gateway import Gateway

BEFORE_EIGHT = dt.datetime(2024, 7, 2, 7, 59, 55, tzinfo=SHANGHAI)
EIGHT = dt.datetime(2024, 7, 2, 8, 0, tzinfo=SHANGHAI)


def _treated(campaign: Campaign) -> int:
    """The frozen audience less its control group."""
    return int(
        duckdb.execute(
            f"SELECT count(*) FILTER (WHERE NOT in_control) FROM '{campaign.audience_path}'"
        ).fetchall()[0][0]
    )


def _request(designer: Any, campaign: Campaign) -> Job:
    return start_dispatch(
        actor=designer, campaign=campaign, step="s1", channel=Channel.SMS, text="早安，续约有礼",
        background=False,
    )  # fmt: skip


@pytest.fixture
def deferred(
    tree: factories.Tree,
    city: Snapshot,
    gateway: Gateway,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> tuple[Any, Campaign, Job]:
    """A step dispatched at 07:59:55 Shanghai time, before the sending window opens at 08:00;
    the designer, the campaign, the job that ran."""
    designer, campaign = issued_with_sms_consent(tree, tmp_path)
    with clock.frozen_at(BEFORE_EIGHT), django_capture_on_commit_callbacks(execute=True):
        job = _request(designer, campaign)
        execute_job(job_id=job.pk)
    job.refresh_from_db()
    return designer, campaign, job


def test_a_step_deferred_by_the_quiet_hours_goes_out_when_the_window_opens(
    deferred: tuple[Any, Campaign, Job], gateway: Gateway
) -> None:
    designer, campaign, job = deferred

    # Then nothing went out yet, and a job is queued for the worker at 08:00
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert gateway.requests == 0
    assert job.result["deferred"] == _treated(campaign)
    follow_up = Job.objects.get(pk=job.result["follow_up_job"])
    assert follow_up.status == JobStatus.QUEUED
    assert DBTaskResult.objects.get(id=follow_up.task_result_id).run_after == EIGHT

    # And asking for the step again before then gets that job, not a new empty plan
    assert _request(designer, campaign).pk == follow_up.pk

    # When the worker runs it at 08:00
    with clock.frozen_at(EIGHT):
        finished = execute_job(job_id=follow_up.pk)

    # Then every customer held back for the hour got the message, once
    assert finished.status == JobStatus.SUCCEEDED, finished.error
    assert len(gateway.subscribers()) == _treated(campaign)
    assert max(gateway.received.values()) == 1
    step = DispatchStep.objects.get(campaign=campaign, step="s1")
    assert (step.state, step.sent, step.deferred, step.job_id) == (
        DispatchState.DONE,
        _treated(campaign),
        0,
        follow_up.pk,
    )


def test_a_deferred_step_run_again_at_night_waits_for_the_next_morning(
    deferred: tuple[Any, Campaign, Job], gateway: Gateway, django_capture_on_commit_callbacks: Any
) -> None:
    # Given the worker was down until 22:30 the same day
    _designer, _campaign, job = deferred
    follow_up = Job.objects.get(pk=job.result["follow_up_job"])

    # When it runs the step then, outside the window again
    with (
        clock.frozen_at(dt.datetime(2024, 7, 2, 22, 30, tzinfo=SHANGHAI)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        finished = execute_job(job_id=follow_up.pk)

    # Then it sends nothing at night and queues the step for 08:00 the next day
    assert gateway.requests == 0
    later = Job.objects.get(pk=finished.result["follow_up_job"])
    assert DBTaskResult.objects.get(id=later.task_result_id).run_after == EIGHT + dt.timedelta(
        days=1
    )


def test_the_campaign_page_shows_who_waits_for_the_sending_hours_and_when_they_go_out(
    deferred: tuple[Any, Campaign, Job], login: Any
) -> None:
    designer, campaign, _job = deferred
    client: Client = login(designer)

    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

    row = page[page.index('id="step-s1"') :].split("</tr>")[0]
    assert f'<td class="step-deferred">{_treated(campaign)}</td>' in row
    assert '<td class="step-goes-out">2024-07-02 08:00</td>' in row
