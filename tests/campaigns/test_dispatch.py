"""Dispatching a campaign step: through the policy, to a real gateway, exactly once per customer,
resumable after a crash (the worker-process tests are in test_dispatch_workers.py)."""

from __future__ import annotations

import dataclasses
from io import StringIO
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from quanwang.campaigns.channels import adapter_from_config
from quanwang.campaigns.channels.base import OutboundMessage, SendResult
from quanwang.campaigns.choices import BatchState, Channel, DispatchState
from quanwang.campaigns.dispatch import send_step
from quanwang.campaigns.ledger import StepLedger
from quanwang.campaigns.models import Campaign, DispatchBatch, DispatchStep
from quanwang.campaigns.policy import ContactPolicy
from quanwang.campaigns.services import start_dispatch, transition
from quanwang.core.choices import JobStatus
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import execute_job
from quanwang.core.models import Job
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TEN_AM, TODAY, approved, marketer
from tests.campaigns.dispatching import (
    allowed,
    customers,
    issued_campaign,
    issued_with_sms_consent,
    ledger,
    running_job,
)
from tests.campaigns.gateway import Gateway


class Killed(BaseException):
    """The worker process dying here (kill -9): nothing after this line of it runs."""


def _step(campaign: Campaign, claim: StepLedger, **given: Any) -> Any:
    arguments: dict[str, Any] = {
        "campaign_id": campaign.pk, "frozen": Path(campaign.audience_path), "step": "s1",
        "channel": Channel.SMS, "text": "t", "send_at": TEN_AM, "policy": ContactPolicy(),
        "ledger": claim,
    }  # fmt: skip
    return send_step(**(arguments | given))


def _dead(claim: StepLedger) -> None:
    """The run holding `claim` is gone (its job marked interrupted once its lease lapsed)."""
    Job.objects.filter(pk=claim.job_id).update(status=JobStatus.FAILED)


def test_a_step_reaches_everyone_allowed_once_and_logs_who_was_held_back(
    db: None, tmp_path: Path, gateway: Gateway, settings: Any
) -> None:
    campaign = issued_campaign(frozen=customers(tmp_path, 300))

    report = _step(campaign, ledger(campaign), text="流量包五折", batch_size=40)

    assert report.planned > 0, report
    assert gateway.subscribers() == allowed(300)
    assert all(m["text"].endswith("回TD退订") for m in gateway.delivered.values())
    assert report.sent == len(allowed(300))
    excluded = duckdb.sql(
        f"SELECT exclusion_rule, count(*) FROM '{settings.VAR_DIR}/campaigns/{campaign.pk}/"
        "dispatch/s1/excluded.parquet' GROUP BY 1"
    ).fetchall()
    assert dict(excluded) == report.excluded
    assert set(report.excluded) == {"control_group", "no_consent", "do_not_disturb"}
    states = set(DispatchBatch.objects.values_list("state", flat=True))
    assert states == {BatchState.SENT}
    assert DispatchBatch.objects.count() == report.batches


def test_a_second_run_of_a_finished_step_sends_nothing(
    db: None, tmp_path: Path, gateway: Gateway
) -> None:
    campaign = issued_campaign(frozen=customers(tmp_path, 100))
    first_claim = ledger(campaign)
    first = _step(campaign, first_claim, batch_size=30)
    first_claim.release(state=DispatchState.DONE)
    requests = gateway.requests

    # Even asked for other batches: the step's batch size is the first plan's
    again = _step(campaign, ledger(campaign), batch_size=7)

    assert gateway.requests == requests
    assert again.resumed_batches == again.batches == first.batches
    assert again.sent == first.sent


class DiesAfterTheGatewayAnswers:
    """A real SMS adapter in a process that dies right after the gateway accepted its
    `batches`-th batch, before the results are written."""

    channel = Channel.SMS

    def __init__(self, settings: Any, *, batches: int) -> None:
        self.adapter = adapter_from_config(channel=Channel.SMS, config=settings.QUANWANG_CHANNELS)
        self.left = batches

    def send(self, messages: list[OutboundMessage]) -> list[SendResult]:
        results = self.adapter.send(messages)
        self.left -= 1
        if self.left == 0:
            raise Killed()
        return results

    def close(self) -> None:
        self.adapter.close()


def test_a_batch_whose_sender_died_mid_batch_is_recorded_unknown_and_never_sent_again(
    db: None, tmp_path: Path, gateway: Gateway, settings: Any
) -> None:
    # Given a run that died after the gateway accepted its 3rd batch of 10, unrecorded
    count, batch = 100, 10
    campaign = issued_campaign(frozen=customers(tmp_path, count))
    first = ledger(campaign)
    with pytest.raises(Killed):
        _step(
            campaign,
            first,
            batch_size=batch,
            adapter=DiesAfterTheGatewayAnswers(settings, batches=3),
        )
    _dead(first)

    # When another run takes the step over
    report = _step(campaign, ledger(campaign), batch_size=batch)

    # Then that batch is not sent again: its customers are recorded as of unknown outcome,
    # everyone else got one message, and nobody two
    assert max(gateway.received.values()) == 1
    assert gateway.subscribers() == allowed(count)
    assert report.unknown == batch
    assert report.sent == len(allowed(count)) - batch
    unknown = DispatchBatch.objects.get(state=BatchState.UNKNOWN)
    assert unknown.index == 2
    statuses = duckdb.sql(
        f"SELECT DISTINCT status FROM '{settings.VAR_DIR}/campaigns/{campaign.pk}/dispatch/s1/"
        "batch-00002.parquet'"
    ).fetchall()
    assert statuses == [("unknown",)]


@dataclasses.dataclass(frozen=True)
class DiesBeforeSettling(StepLedger):
    """A run that dies after writing batch `index`'s results file, before settling it."""

    index: int = 1

    def settle(self, index: int, **outcome: Any) -> None:
        if index == self.index:
            raise Killed()
        super().settle(index, **outcome)


def test_a_batch_whose_results_were_written_before_the_crash_counts_as_sent(
    db: None, tmp_path: Path, gateway: Gateway
) -> None:
    count, batch = 100, 10
    campaign = issued_campaign(frozen=customers(tmp_path, count))
    claim = ledger(campaign)
    with pytest.raises(Killed):
        _step(
            campaign,
            DiesBeforeSettling(claim.step_id, claim.job_id, claim.attempt),
            batch_size=batch,
        )
    _dead(claim)

    report = _step(campaign, ledger(campaign), batch_size=batch)

    assert max(gateway.received.values()) == 1
    assert gateway.subscribers() == allowed(count)
    assert (report.sent, report.unknown) == (len(allowed(count)), 0)
    assert set(DispatchBatch.objects.values_list("state", flat=True)) == {BatchState.SENT}


def test_a_job_for_a_step_another_live_run_holds_sends_nothing(
    db: None, tmp_path: Path, gateway: Gateway
) -> None:
    # Given a step held by a running job
    campaign = issued_campaign(frozen=customers(tmp_path, 50))
    holder = ledger(campaign)

    # When a second job for the step runs
    second = running_job(campaign)
    Job.objects.filter(pk=second.pk).update(status=JobStatus.QUEUED)
    finished = execute_job(job_id=second.pk)

    # Then it failed, naming the job that holds the step, and sent nothing
    assert finished.status == JobStatus.FAILED
    assert f"#{holder.job_id}" in finished.error
    assert gateway.requests == 0


def test_only_an_issued_campaign_on_one_of_its_channels_is_dispatched(
    tree: factories.Tree, city: Snapshot
) -> None:
    designer = marketer(tree)
    campaign = approved(tree, designer)

    with pytest.raises(ServiceError, match="issued or running"):
        start_dispatch(
            actor=designer, campaign=campaign, step="s1", channel=Channel.SMS, text="t",
            background=False,
        )  # fmt: skip
    issued = transition(actor=designer, campaign=campaign, move="issue", today=TODAY)
    with pytest.raises(ServiceError, match="not one of this campaign's channels"):
        start_dispatch(
            actor=designer, campaign=issued, step="s1", channel=Channel.APP_PUSH, text="t",
            background=False,
        )  # fmt: skip


def test_the_dispatch_job_sends_an_issued_campaign_and_reports_what_it_held_back(
    tree: factories.Tree, city: Snapshot, gateway: Gateway, tmp_path: Path
) -> None:
    # Given an issued campaign whose customers are in the warehouse, all with SMS consent
    designer, campaign = issued_with_sms_consent(tree, tmp_path)

    # When its first step is dispatched as a job at 10:00
    job = start_dispatch(
        actor=designer, campaign=campaign, step="s1", channel=Channel.SMS, text="续约有礼",
        send_at=TEN_AM, background=False,
    )  # fmt: skip
    execute_job(job_id=job.pk)
    job.refresh_from_db()

    # Then the treated customers got it and the control group did not
    control = {
        r[0]
        for r in duckdb.sql(
            f"SELECT subscriber_id FROM '{campaign.audience_path}' WHERE in_control"
        ).fetchall()
    }
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["excluded"] == {"control_group": len(control)}
    assert gateway.subscribers().isdisjoint(control)
    assert len(gateway.subscribers()) == campaign.audience_size - len(control)
    step = DispatchStep.objects.get(campaign=campaign, step="s1")
    assert (step.state, step.sent, step.planned) == (
        DispatchState.DONE,
        len(gateway.subscribers()),
        len(gateway.subscribers()),
    )


def test_a_second_request_for_a_queued_or_running_step_gets_its_job_back(
    tree: factories.Tree, city: Snapshot, gateway: Gateway, tmp_path: Path, login: Any
) -> None:
    # Given an issued campaign, its step s1 requested in the console
    designer, campaign = issued_with_sms_consent(tree, tmp_path)
    client: Client = login(designer)
    form = {"step": "s1", "channel": "sms", "text": "续约有礼"}
    url = reverse("campaigns:dispatch", args=[campaign.pk])
    first = client.post(url, form)

    # When it is requested again, in the console and from the command line, while queued
    again = client.post(url, form)
    out = StringIO()
    call_command(
        "dispatch", str(campaign.pk), "--step", "s1", "--channel", "sms", "--text", "续约有礼",
        "--background", stdout=out,
    )  # fmt: skip

    # Then every request got the one job
    job = Job.objects.get()
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == reverse("core:job-detail", args=[job.pk])
    assert f"#{job.pk}" in out.getvalue()

    # And once it ran, a new request queues a job that finds everything sent
    execute_job(job_id=job.pk)
    sent = gateway.requests
    later = start_dispatch(
        actor=designer, campaign=campaign, step="s1", channel=Channel.SMS, text="续约有礼",
        background=False,
    )  # fmt: skip
    assert later.pk != job.pk
    assert execute_job(job_id=later.pk).status == JobStatus.SUCCEEDED
    assert gateway.requests == sent


def test_a_step_name_is_not_reused_for_another_message(
    tree: factories.Tree, city: Snapshot, gateway: Gateway, tmp_path: Path
) -> None:
    designer, campaign = issued_with_sms_consent(tree, tmp_path)
    start_dispatch(
        actor=designer, campaign=campaign, step="s1", channel=Channel.SMS, text="续约有礼",
        background=False,
    )  # fmt: skip

    with pytest.raises(ServiceError, match="step name of its own"):
        start_dispatch(
            actor=designer, campaign=campaign, step="s1", channel=Channel.SMS, text="另一条",
            background=False,
        )  # fmt: skip
