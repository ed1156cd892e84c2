"""Dispatching a campaign step: through the policy, to a real gateway, resumable after a kill."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.dispatch import send_step
from quanwang.campaigns.policy import ContactPolicy
from quanwang.campaigns.services import start_dispatch, transition
from quanwang.core.choices import JobStatus
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import execute_job
from quanwang.data.importer import import_file
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import TEN_AM, TODAY, approved, marketer
from tests.campaigns.gateway import Gateway
from tests.insight.conftest import PLANS


def _customers(tmp_path: Path, count: int) -> Path:
    """`count` subscribers in the warehouse (every 5th without SMS consent, every 7th on DND)
    and their frozen audience (every 10th in control)."""
    people = [
        {
            "subscriber_id": f"C{i:05d}", "msisdn": f"139{i:08d}", "segment": "个人",
            "payment_type": "postpaid", "join_date": dt.date(2020, 1, 1), "status": "active",
            "plan_id": "P4G", "consent_sms": i % 5 != 0, "do_not_disturb": i % 7 == 0,
        }
        for i in range(count)
    ]  # fmt: skip
    files = factories.canonical_files(tmp_path, plans=PLANS, subscribers=people)
    import_file(table_name="plans", path=files["plans"])
    assert import_file(table_name="subscribers", path=files["subscribers"]).loaded == count
    frozen = tmp_path / "audience.parquet"
    pq.write_table(
        pa.table(
            {
                "subscriber_id": [p["subscriber_id"] for p in people],
                "grid_id": ["G1"] * count,
                "in_control": [i % 10 == 3 for i in range(count)],
                "do_not_disturb": [False] * count,
            }
        ),
        frozen,
    )
    return frozen


def _allowed(count: int) -> set[str]:
    return {f"C{i:05d}" for i in range(count) if i % 5 and i % 7 and i % 10 != 3}


def test_a_step_reaches_everyone_allowed_once_and_logs_who_was_held_back(
    db: None, tmp_path: Path, gateway: Gateway, settings: Any
) -> None:
    frozen = _customers(tmp_path, 300)

    report = send_step(
        campaign_id=1, frozen=frozen, step="s1", channel=Channel.SMS, text="流量包五折",
        send_at=TEN_AM, policy=ContactPolicy(), batch_size=40,
    )  # fmt: skip

    assert report.planned > 0, report
    assert gateway.subscribers() == _allowed(300)
    assert all(m["text"].endswith("回TD退订") for m in gateway.delivered.values())
    assert report.sent == len(_allowed(300))
    excluded = duckdb.sql(
        f"SELECT exclusion_rule, count(*) FROM '{settings.VAR_DIR}/campaigns/1/dispatch/s1/"
        "excluded.parquet' GROUP BY 1"
    ).fetchall()
    assert dict(excluded) == report.excluded
    assert set(report.excluded) == {"control_group", "no_consent", "do_not_disturb"}


def test_a_second_run_of_a_finished_step_sends_nothing(
    db: None, tmp_path: Path, gateway: Gateway
) -> None:
    frozen = _customers(tmp_path, 100)
    arguments: dict[str, Any] = {
        "campaign_id": 1, "frozen": frozen, "step": "s1", "channel": Channel.SMS,
        "text": "t", "send_at": TEN_AM, "policy": ContactPolicy(), "batch_size": 30,
    }  # fmt: skip
    first = send_step(**arguments)
    requests = gateway.requests

    again = send_step(**arguments)

    assert gateway.requests == requests
    assert again.resumed_batches == again.batches == first.batches
    assert again.sent == first.sent


def test_a_worker_killed_mid_dispatch_neither_sends_twice_nor_skips_anyone(
    db: None, tmp_path: Path, settings: Any
) -> None:
    # Given 3,000 customers and a gateway that takes 20 ms per batch of 25
    count, batch = 3000, 25
    frozen = _customers(tmp_path, count)
    gateway = Gateway(delay=0.02)
    channels = {"sms": {"url": gateway.url, "token": "t"}}
    settings.QUANWANG_CHANNELS = channels
    env = {
        **os.environ,
        "QUANWANG_VAR_DIR": str(settings.VAR_DIR),
        "QUANWANG_CHANNELS": json.dumps(channels),
        "DJANGO_SETTINGS_MODULE": "quanwang.settings",
    }
    script = (
        "import django, pathlib, datetime as dt; django.setup(); "
        "from quanwang.campaigns.dispatch import send_step; "
        "from quanwang.campaigns.policy import ContactPolicy, SHANGHAI; "
        "from quanwang.campaigns.choices import Channel; "
        f"send_step(campaign_id=1, frozen=pathlib.Path({str(frozen)!r}), step='s1', "
        "channel=Channel.SMS, text='t', send_at=dt.datetime(2024, 7, 2, 10, tzinfo=SHANGHAI), "
        f"policy=ContactPolicy(), batch_size={batch})"
    )

    # When the worker is killed once the gateway has seen 10 batches, and the step re-runs
    process = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while gateway.requests < 10:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the dispatch never started"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = len(gateway.delivered)
    report = send_step(
        campaign_id=1, frozen=frozen, step="s1", channel=Channel.SMS, text="t",
        send_at=TEN_AM, policy=ContactPolicy(), batch_size=batch,
    )  # fmt: skip
    gateway.close()

    # Then the kill came mid-way, everyone allowed got exactly one message, nobody else got
    # any, and only the batch in flight at the kill reached the gateway twice (it kept one)
    assert 0 < killed_at < len(_allowed(count))
    assert gateway.subscribers() == _allowed(count)
    assert report.resumed_batches >= 9
    repeated = [key for key, times in gateway.received.items() if times > 1]
    assert len(repeated) <= batch
    assert max(gateway.received.values()) <= 2


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
    people = [
        {"subscriber_id": f"S{i:03d}", "msisdn": f"138{i:08d}", "segment": "个人",
         "payment_type": "postpaid", "join_date": dt.date(2020, 1, 1), "status": "active",
         "plan_id": "P4G", "consent_sms": True}
        for i in range(200)
    ]  # fmt: skip
    files = factories.canonical_files(tmp_path, plans=PLANS, subscribers=people)
    import_file(table_name="plans", path=files["plans"])
    import_file(table_name="subscribers", path=files["subscribers"])
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )

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
