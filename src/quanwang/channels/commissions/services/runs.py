"""Monthly statement runs (酬金结算) and their approval.

A run computes month M's statements of the stores in its starter's scope, as a job
(JobKind.RUN_COMMISSIONS) from the console or the CLI. One run of a month at a time: the
month's CommissionRun row is the lock. Starting takes the row (select_for_update); a second
start while the first's job is alive gets the first's job back; a job that finds the row held
by another live job stops with a message; the final write checks the run's token, so a run
taken over by another writes nothing.

A store's months close in order: its statement of M is computed only when each of its earlier
statements is approved (what they paid is the ledger's "paid"), when it has none of a later
month, and when its statement of M is not approved (frozen). An approved statement is never
recomputed; facts that change under it come back as adjustment lines in the next month's
statement (services.compute).

Approving (Action.APPROVE over the store's unit) freezes a statement; nobody approves a
statement they computed, as nobody approves their own campaign.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.channels.commissions.choices import RunStatus, StatementStatus
from quanwang.channels.commissions.services import compute, facts, rules
from quanwang.channels.models import CommissionRun, CommissionStatement, Store
from quanwang.core.choices import JOB_LIVE, Action, JobKind, JobStatus, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job
from quanwang.core.querysets import has_grant, scope_filter
from quanwang.core.services.jobs import start_job
from quanwang.core.services.orgs import home_unit
from quanwang.insight.months import Month, MonthError

logger = logging.getLogger(__name__)

LINES_DIR = "commissions"


class RunBusy(ServiceError):
    """Another run of the month holds it."""


@dataclass(frozen=True)
class Eligibility:
    eligible: list[str]
    frozen: int  # approved for this month already
    waiting: int  # an earlier statement is not approved yet
    later: int  # a statement of a later month exists


def parse_month(text: str) -> Month:
    try:
        return Month.parse(text)
    except MonthError as exc:
        raise ServiceError(str(exc), field="month") from exc


def lines_file(relative: str) -> Path:
    return Path(settings.VAR_DIR) / relative


def job_alive(job: Job | None) -> bool:
    """Whether `job` may still write: queued, or running with its lease in force."""
    if job is None or job.status not in JOB_LIVE:
        return False
    if job.status == JobStatus.RUNNING:
        return job.lease_expires_at is not None and job.lease_expires_at >= timezone.now()
    return True


def _locked_run(month: str) -> CommissionRun:
    """The month's run row, created if missing, locked for this transaction."""
    try:
        with transaction.atomic():
            CommissionRun.objects.get_or_create(month=month)
    except IntegrityError:
        pass  # created at the same moment by another run: lock that one
    return (
        CommissionRun.objects.select_for_update(of=("self",)).select_related("job").get(month=month)
    )


# --- Starting ----------------------------------------------------------------------------


def start_run(*, actor: Any, month: str, background: bool = True) -> Job:
    """The job computing `month`'s statements in the actor's scope; while one is alive for the
    month, that one (two clicks start one run)."""
    if not has_grant(actor, resource=Resource.COMMISSION, action=Action.ADD):
        raise NotFound()
    parsed = parse_month(month)
    if parsed.first_day > timezone.localdate():
        raise ServiceError(
            _("%(month)s has not begun: there is nothing to compute yet.") % {"month": parsed},
            field="month",
        )
    check_not_before_ledger(parsed)
    org_unit = home_unit(user=actor, resource=Resource.COMMISSION, action=Action.ADD)
    with transaction.atomic():
        run = _locked_run(str(parsed))
        if run.status == RunStatus.COMPUTING and job_alive(run.job):
            assert run.job is not None
            return run.job
        job = start_job(
            actor=actor,
            kind=JobKind.RUN_COMMISSIONS,
            org_unit=org_unit,
            params={"month": str(parsed)},
            background=background,
        )
        run.job = job
        run.status = RunStatus.COMPUTING
        run.token = ""
        run.save(update_fields=["job", "status", "token"])
    return job


def _claim(*, month: str, job: Job) -> str:
    """Take the month's run for `job`; its token. RunBusy when another live job holds it."""
    with transaction.atomic():
        run = _locked_run(month)
        if (
            run.job_id not in (None, job.pk)
            and run.status == RunStatus.COMPUTING
            and job_alive(run.job)
        ):
            raise RunBusy(
                _("Statements of %(month)s are being computed by job #%(job)d; this run stopped.")
                % {"month": month, "job": run.job_id}
            )
        run.job = job
        run.status = RunStatus.COMPUTING
        run.token = uuid.uuid4().hex
        run.started_by = job.created_by
        run.started_at = timezone.now()
        run.save(update_fields=["job", "status", "token", "started_by", "started_at"])
        return run.token


# --- Which stores, and what was paid -----------------------------------------------------


def stores_in_reach(actor: Any) -> QuerySet[Store]:
    """The stores whose statements `actor` may compute (all of them for the system)."""
    q = scope_filter(
        actor,
        resource=Resource.COMMISSION,
        action=Action.ADD,
        org_path_field="org_unit__path",
        owner_field=None,
    )
    stores = Store.objects.all()
    return stores if q is None else stores.filter(q)


def eligibility(*, month: str, stores: QuerySet[Store]) -> Eligibility:
    ids = set(stores.values_list("store_id", flat=True))
    statements = CommissionStatement.objects.filter(store__store_id__in=ids)
    frozen = set(
        statements.filter(month=month, status=StatementStatus.APPROVED).values_list(
            "store__store_id", flat=True
        )
    )
    waiting = set(
        statements.filter(month__lt=month, status=StatementStatus.COMPUTED).values_list(
            "store__store_id", flat=True
        )
    )
    later = set(statements.filter(month__gt=month).values_list("store__store_id", flat=True))
    eligible = sorted(ids - frozen - waiting - later)
    return Eligibility(
        eligible=eligible,
        frozen=len(frozen),
        waiting=len(waiting - frozen),
        later=len(later - frozen - waiting),
    )


def _paid(*, month: str, eligible: list[str]) -> list[compute.PaidStatement]:
    found = CommissionStatement.objects.filter(
        month__lt=month, status=StatementStatus.APPROVED, store__store_id__in=eligible
    ).values_list("store__store_id", "month", "lines_path")
    return [
        compute.PaidStatement(store_id=s, month=m, lines_path=lines_file(p)) for s, m, p in found
    ]


def opening_month(month: Month) -> Month:
    """The ledger's first month: that of the oldest statement (this one's, before any).
    What fell due before it was settled outside Quanwang."""
    oldest = CommissionStatement.objects.aggregate(m=Min("month"))["m"]
    return min(Month.parse(oldest), month) if oldest else month


def check_not_before_ledger(month: Month) -> None:
    """A month before the ledger's first is refused: computing it would move the ledger's
    start and make every store's earlier months look unpaid."""
    oldest = CommissionStatement.objects.aggregate(m=Min("month"))["m"]
    if oldest and str(month) < oldest:
        raise ServiceError(
            _(
                "The statements start in %(first)s: what fell due before was settled outside "
                "Quanwang, and %(month)s is not computed."
            )
            % {"first": oldest, "month": month},
            field="month",
        )


# --- Running -----------------------------------------------------------------------------


def run_month(
    *, job: Job, month: str, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Compute and write `month`'s statements (the job's work); what it did, for the job."""
    say = progress or (lambda _stage: None)
    parsed = parse_month(month)
    check_not_before_ledger(parsed)
    token = _claim(month=str(parsed), job=job)
    try:
        return _compute_and_write(job=job, month=parsed, token=token, say=say)
    except BaseException:
        CommissionRun.objects.filter(month=str(parsed), token=token).update(
            status=RunStatus.FAILED, finished_at=timezone.now()
        )
        raise


def _compute_and_write(
    *, job: Job, month: Month, token: str, say: Callable[[str], None]
) -> dict[str, Any]:
    actor = job.created_by
    reach = stores_in_reach(actor) if actor is not None else Store.objects.all()
    found = eligibility(month=str(month), stores=reach)
    rule_rows, tier_rows = rules.rules_in_force()
    relative = f"{LINES_DIR}/{month}/{token}/lines.parquet"
    target = lines_file(relative)
    started = timezone.now()
    computed = compute.compute_month(
        month=month,
        opening=opening_month(month),
        stores=facts.store_types(),
        eligible=found.eligible,
        rules=rule_rows,
        tiers=tier_rows,
        paid=_paid(month=str(month), eligible=found.eligible),
        target=target,
        progress=say,
    )
    sha = compute.file_sha256(target)
    say("statements")
    written = _write_statements(
        job=job, month=str(month), token=token, relative=relative, sha=sha, computed=computed,
        eligible=found.eligible, started=started,
    )  # fmt: skip
    prune_lines(month=str(month))
    return {
        "month": str(month),
        "statements": written,
        "lines": computed.figures["lines"],
        "sales": computed.figures["sales"],
        "cancels": computed.figures["cancels"],
        "unmatched_sales": computed.figures["sales"] - computed.figures["matched"],
        "unknown_store_facts": computed.figures["unknown_store_facts"],
        "frozen_stores": found.frozen,
        "waiting_stores": found.waiting,
        "later_stores": found.later,
        "total": str(sum((s.total for s in computed.stores), start=Decimal("0.00"))),
        "lines_sha256": sha,
    }


def _write_statements(
    *,
    job: Job,
    month: str,
    token: str,
    relative: str,
    sha: str,
    computed: compute.MonthLines,
    eligible: list[str],
    started: dt.datetime,
) -> int:
    with transaction.atomic():
        run = CommissionRun.objects.select_for_update().get(month=month)
        if run.token != token:
            raise RunBusy(
                _("Another run of %(month)s took over; this one wrote nothing.") % {"month": month}
            )
        ids = dict(Store.objects.filter(store_id__in=eligible).values_list("store_id", "pk"))
        mine = CommissionStatement.objects.filter(month=month, store_id__in=ids.values())
        frozen = set(
            mine.filter(status=StatementStatus.APPROVED).values_list("store_id", flat=True)
        )
        mine.filter(status=StatementStatus.COMPUTED).delete()
        statements = [
            CommissionStatement(
                run=run,
                store_id=ids[totals.store_id],
                month=month,
                lines_path=relative,
                fingerprint=totals.fingerprint,
                line_count=totals.line_count,
                note_count=totals.note_count,
                total=totals.total,
                adjustment_total=totals.adjustment_total,
                deduction_total=totals.deduction_total,
                computed_by=job.created_by,
                computed_at=started,
            )
            for totals in computed.stores
            if totals.store_id in ids and ids[totals.store_id] not in frozen
        ]
        CommissionStatement.objects.bulk_create(statements, batch_size=2000)
        run.status = RunStatus.COMPUTED
        run.lines_path = relative
        run.lines_sha256 = sha
        run.finished_at = timezone.now()
        run.figures = computed.figures
        run.save(update_fields=["status", "lines_path", "lines_sha256", "finished_at", "figures"])
    return len(statements)


def prune_lines(*, month: str) -> None:
    """Remove the month's lines files no statement and no run names (earlier attempts).
    Idempotent; a file being written (its run's token) is kept."""
    root = lines_file(f"{LINES_DIR}/{month}")
    if not root.is_dir():
        return
    named = set(
        CommissionStatement.objects.filter(month=month).values_list("lines_path", flat=True)
    )
    run = CommissionRun.objects.filter(month=month).first()
    keep_tokens = {Path(p).parent.name for p in named}
    if run is not None:
        if run.lines_path:
            keep_tokens.add(Path(run.lines_path).parent.name)
        if run.status == RunStatus.COMPUTING and run.token:
            keep_tokens.add(run.token)
    for attempt in root.iterdir():
        if attempt.is_dir() and attempt.name not in keep_tokens:
            shutil.rmtree(attempt, ignore_errors=True)


# --- Reading and approving ---------------------------------------------------------------


def get_statement(*, user: Any, pk: int, action: Action = Action.VIEW) -> CommissionStatement:
    found = (
        CommissionStatement.objects.restrict(user, action)
        .select_related("store", "store__org_unit", "run", "computed_by", "approved_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound()
    return found


def approve_statements(*, actor: Any, month: str, statement_ids: list[int] | None = None) -> int:
    """Approve (and so freeze) the computed statements of `month` in the actor's reach, or
    those named; how many. Refused while the month is being computed, and for statements the
    actor computed."""
    parsed = str(parse_month(month))
    with transaction.atomic():
        run = CommissionRun.objects.select_for_update().filter(month=parsed).first()
        if run is None:
            raise NotFound()
        if run.status == RunStatus.COMPUTING:
            raise ServiceError(
                _("Statements of %(month)s are being computed; approve them when it is done.")
                % {"month": parsed}
            )
        chosen = CommissionStatement.objects.restrict(actor, Action.APPROVE).filter(
            month=parsed, status=StatementStatus.COMPUTED
        )
        if statement_ids is not None:
            chosen = chosen.filter(pk__in=statement_ids)
        # Locked by their own pks: the scope's joins (store, partners) cannot be locked.
        picked = list(
            CommissionStatement.objects.select_for_update()
            .filter(pk__in=list(chosen.values_list("pk", flat=True)))
            .values_list("pk", "computed_by_id")
        )
        if statement_ids is not None and len(picked) != len(set(statement_ids)):
            raise NotFound()
        if any(computed_by == getattr(actor, "pk", None) for _pk, computed_by in picked):
            raise ServiceError(_("Nobody approves statements they computed."))
        return CommissionStatement.objects.filter(pk__in=[pk for pk, _c in picked]).update(
            status=StatementStatus.APPROVED, approved_by=actor, approved_at=timezone.now()
        )


def newest_month() -> str | None:
    return CommissionStatement.objects.aggregate(m=Max("month"))["m"]
