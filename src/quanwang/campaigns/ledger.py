"""The claim on a campaign step and its send ledger, in the operations database.

Exactly once per (campaign, step, customer), on our side:

1. A step has one DispatchStep row (unique per campaign and step). A job sends only while it
   holds the row's claim: `claim_step` takes it, in a transaction that locks the row
   (`select_for_update` on PostgreSQL; on SQLite every transaction is IMMEDIATE, so it holds
   the write lock), when nobody holds it or its holder is not a live run (a job still running
   under a valid lease, at the attempt that claimed). Otherwise it raises StepBusy.
2. The plan (who, in which order) is made once, under the claim, and the batch size is fixed
   with it: batch N is always the same customers.
3. Before a batch is handed to the gateway, its DispatchBatch row is inserted (claimed); the
   unique (step, index) constraint lets one insert win. After the gateway answered and the
   per-customer results file is written, the row is settled (sent). A claimed row that a new
   holder of the step finds was left by a dead run is settled from its results file when that
   file was written, and otherwise marked unknown: its customers may or may not have received
   the message, and are never sent it again (docs/campaigns-dispatch.md).

Rows are per batch, not per customer: a million-customer step is 2,000 rows of 500; the
per-customer record is the batch's Parquet file (campaigns.dispatch).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns import clock
from quanwang.campaigns.choices import BatchState, Channel, DispatchState
from quanwang.campaigns.models import Campaign, DispatchBatch, DispatchStep
from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job


class StepBusy(Exception):
    """Another live run holds the step."""

    def __init__(self, job_id: int) -> None:
        super().__init__(job_id)
        self.job_id = job_id


class ClaimLost(Exception):
    """This run no longer holds the step (its lease lapsed and another run took it over)."""

    def __init__(self) -> None:
        super().__init__(
            _("Another run took this step over (this one stopped answering); it sends the rest.")
        )


class StepMismatch(Exception):
    """The job names another channel or message than the step was first sent with."""


def job_is_live(job: Job | None, *, attempt: int | None = None) -> bool:
    """Queued, or running under a lease that has not lapsed (at `attempt`, when given)."""
    if job is None:
        return False
    if attempt is not None and job.attempts != attempt:
        return False
    if job.status == JobStatus.QUEUED:
        return True
    lease = getattr(job, "lease_expires_at", None)
    return job.status == JobStatus.RUNNING and lease is not None and lease >= timezone.now()


def locked_step(*, campaign: Campaign, step: str, channel: Channel, text: str) -> DispatchStep:
    """The step's row, created on first use, locked until the caller's transaction ends."""
    row = DispatchStep.objects.select_for_update().filter(campaign=campaign, step=step).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return DispatchStep.objects.create(
                campaign=campaign, step=step, channel=str(channel), text=text
            )
    except IntegrityError:
        # A concurrent request created it first (PostgreSQL: our insert waited for its commit).
        return DispatchStep.objects.select_for_update().get(campaign=campaign, step=step)


def claim_step(
    *, campaign: Campaign, step: str, channel: Channel, text: str, job: Job
) -> StepLedger:
    """Take the step for this run of `job`; StepBusy when another live run holds it."""
    with transaction.atomic():
        row = locked_step(campaign=campaign, step=step, channel=channel, text=text)
        if row.channel != str(channel) or row.text != text:
            raise StepMismatch(
                _("Step %(step)s was first sent with another channel or message.") % {"step": step}
            )
        if row.owner_id is not None and row.owner_id != job.pk:
            holder = Job.objects.filter(pk=row.owner_id).first()
            if (
                holder is not None
                and holder.status == JobStatus.RUNNING
                and job_is_live(holder, attempt=row.owner_attempt)
            ):
                raise StepBusy(holder.pk)
        row.owner, row.owner_attempt, row.job = job, job.attempts, job
        row.state = DispatchState.SENDING
        row.save(update_fields=["owner", "owner_attempt", "job", "state", "updated_at"])
    return StepLedger(step_id=row.pk, job_id=job.pk, attempt=job.attempts)


@dataclass(frozen=True)
class StepLedger:
    """The ledger of one step, as written by one run (job, attempt) that holds its claim."""

    step_id: int
    job_id: int
    attempt: int

    def _mine(self) -> Any:
        return DispatchStep.objects.filter(
            pk=self.step_id, owner_id=self.job_id, owner_attempt=self.attempt
        )

    def batch_size(self, proposed: int) -> int:
        """The step's batch size: the first plan's, for every later run."""
        with transaction.atomic():
            row = DispatchStep.objects.select_for_update().get(pk=self.step_id)
            if row.batch_size is None:
                row.batch_size = proposed
                row.save(update_fields=["batch_size", "updated_at"])
            return int(row.batch_size)

    def planned(
        self, *, rows: int, excluded: dict[str, int], deferred: int, deferred_until: str | None
    ) -> None:
        self._mine().update(
            planned=rows,
            excluded=excluded,
            deferred=deferred,
            deferred_until=dt.datetime.fromisoformat(deferred_until) if deferred_until else None,
            updated_at=timezone.now(),
        )

    def batches(self) -> dict[int, BatchState]:
        """The batches a run of the step has claimed, by index."""
        return {
            index: BatchState(state)
            for index, state in DispatchBatch.objects.filter(
                dispatch_step_id=self.step_id
            ).values_list("index", "state")
        }

    def claim(self, index: int, *, size: int) -> bool:
        """Record that this run is about to send batch `index`, durably, before it does.
        False when another run claimed it first; ClaimLost when the step was taken over."""
        with transaction.atomic():
            if not self._mine().select_for_update().exists():
                raise ClaimLost()
            try:
                with transaction.atomic():
                    DispatchBatch.objects.create(
                        dispatch_step_id=self.step_id, index=index, size=size,
                        job_id=self.job_id, attempt=self.attempt,
                    )  # fmt: skip
            except IntegrityError:
                return False
        return True

    def settle(self, index: int, *, state: BatchState, accepted: int, failed: int) -> None:
        """After the results file is written: what became of the batch."""
        batches = DispatchBatch.objects.filter(dispatch_step_id=self.step_id, index=index)
        if state == BatchState.SENT:
            # The run that sent it settles it, even if its claim was found orphaned meanwhile:
            # the file it wrote is the truth.
            batches = batches.exclude(state=BatchState.SENT)
        else:
            batches = batches.filter(state=BatchState.CLAIMED)
        batches.update(state=state, accepted=accepted, failed=failed, settled_at=timezone.now())

    def release(
        self,
        *,
        state: DispatchState,
        sent: int | None = None,
        failed: int | None = None,
        unknown: int | None = None,
    ) -> None:
        """Give the step up at the end of this run (done, or stopped by an error or cancel)."""
        counts = {
            name: value
            for name, value in {"sent": sent, "failed": failed, "unknown": unknown}.items()
            if value is not None
        }
        self._mine().update(owner=None, state=state, updated_at=timezone.now(), **counts)

    def defer(self, *, until: dt.datetime, deferred: int, job: Job) -> Job:
        """The quiet hours held the whole step back: queue a job that runs it again when the
        window opens (django-tasks' run_after), and answer later requests with it."""
        with transaction.atomic():
            row = self._mine().select_for_update().first()
            if row is None:
                raise ClaimLost()
            # No send time: the follow-up plans at the moment it runs (clock.now()), when the
            # window is open, against the history and opt-outs of then.
            params = {**job.params, "send_at": None, "deferred_from": clock.now().isoformat()}
            follow_up = start_job(
                actor=job.created_by,
                kind=JobKind.DISPATCH_CAMPAIGN,
                org_unit=job.org_unit,
                params=params,
                run_after=until,
            )
            row.job, row.owner = follow_up, None
            row.state = DispatchState.DEFERRED
            row.deferred, row.deferred_until = deferred, until
            row.save(
                update_fields=["job", "owner", "state", "deferred", "deferred_until", "updated_at"]
            )
        return follow_up
