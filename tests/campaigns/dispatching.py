"""What the dispatch tests share: customers in the warehouse with their frozen audience, an
issued campaign over them, and worker processes run against the test database."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.utils import timezone

from quanwang.campaigns.choices import BatchState, CampaignState, CampaignType, Channel
from quanwang.campaigns.ledger import StepLedger, claim_step
from quanwang.campaigns.models import Campaign, Segment, SegmentVersion
from quanwang.campaigns.services import transition
from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job
from quanwang.data.importer import import_file
from tests import factories
from tests.campaigns.conftest import TODAY, approved, marketer
from tests.insight.conftest import PLANS
from tests.processes import shared_env


def customers(tmp_path: Path, count: int) -> Path:
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


def allowed(count: int) -> set[str]:
    """Who of `customers(…, count)` the contact policy lets through at 10:00."""
    return {f"C{i:05d}" for i in range(count) if i % 5 and i % 7 and i % 10 != 3}


def issued_campaign(
    *, frozen: Path, org_unit: Any = None, channels: tuple[str, ...] = ("sms",)
) -> Campaign:
    """An issued campaign over a frozen audience, as rows (issuing needs a snapshot; what is
    tested here starts after it)."""
    unit = org_unit or factories.org_unit(code=f"P{Campaign.objects.count() + 9}")
    segment = Segment.objects.create(name=f"dispatch-{unit.code}", org_unit=unit)
    version = SegmentVersion.objects.create(
        segment=segment, number=1, rule={}, text_zh="全部", text_en="all"
    )
    return Campaign.objects.create(
        name="派发测试", campaign_type=CampaignType.RETENTION, hypothesis="h",
        objective_metric="m", objective_target=Decimal("1"),
        objective_deadline=dt.date(2024, 8, 31), segment_version=version,
        channels=list(channels), starts_on=dt.date(2024, 7, 1), ends_on=dt.date(2024, 8, 31),
        budget=Decimal("100"), state=CampaignState.ISSUED, audience_path=str(frozen),
        audience_size=pq.read_metadata(frozen).num_rows, org_unit=unit,
    )  # fmt: skip


def process_env(settings: Any, channels: dict[str, Any]) -> dict[str, str]:
    """The environment of a `quanwang` subprocess that shares this test's var folder and
    database (tests.processes), with these channel adapters."""
    return {**shared_env(settings), "QUANWANG_CHANNELS": json.dumps(channels)}


def quanwang(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`quanwang ARGS…` as a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "quanwang.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A real `quanwang worker` that exits once the queue is empty."""
    return quanwang(
        "worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0.1", env=env
    )


def finish(process: subprocess.Popen[bytes], *, timeout: float = 120) -> str:
    """Wait for a process; its output, or the test fails with it."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err.decode(errors="replace")[-3000:]
    return out.decode()


def running_job(
    campaign: Campaign, *, step: str = "s1", channel: str = "sms", text: str = "t"
) -> Job:
    """A dispatch job of the step, as the worker holds it while it runs (running, leased)."""
    job = start_job(
        actor=None, kind=JobKind.DISPATCH_CAMPAIGN, org_unit=campaign.org_unit,
        params={"campaign_id": campaign.pk, "step": step, "channel": channel, "text": text},
        background=False,
    )  # fmt: skip
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, lease_expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    job.refresh_from_db()
    return job


def ledger(
    campaign: Campaign, *, step: str = "s1", channel: str = "sms", text: str = "t"
) -> StepLedger:
    """The claim on the step for a new running job, as the dispatch job takes it."""
    return claim_step(
        campaign=campaign, step=step, channel=Channel(channel), text=text,
        job=running_job(campaign, step=step, channel=channel, text=text),
    )  # fmt: skip


def issued_with_sms_consent(tree: factories.Tree, tmp_path: Path) -> tuple[Any, Campaign]:
    """The city's campaign, issued, its 200 customers in the warehouse with SMS consent; and
    its designer."""
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
    return designer, campaign


class LocalLedger:
    """A send ledger kept in this process, for tests of what a step sends rather than of who
    may send it (the product always uses the operations database's, campaigns.ledger)."""

    def __init__(self) -> None:
        self.size: int | None = None
        self.states: dict[int, BatchState] = {}

    def batch_size(self, proposed: int) -> int:
        self.size = self.size or proposed
        return self.size

    def planned(self, **counts: Any) -> None:
        return None

    def batches(self) -> dict[int, BatchState]:
        return dict(self.states)

    def claim(self, index: int, *, size: int) -> bool:
        if index in self.states:
            return False
        self.states[index] = BatchState.CLAIMED
        return True

    def settle(self, index: int, *, state: BatchState, accepted: int, failed: int) -> None:
        self.states[index] = state
