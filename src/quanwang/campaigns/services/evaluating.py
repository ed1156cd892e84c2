"""Evaluating a campaign against its control group (as a background job), its report, the
figures of its page, and its responses."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.campaigns.channel_strata import UNGRADED, channel_strata
from quanwang.campaigns.channels import SendStatus
from quanwang.campaigns.choices import (
    CampaignState,
    CampaignType,
    Channel,
    ContactOutcome,
    GridType,
)
from quanwang.campaigns.estimate import CONTACT_COST
from quanwang.campaigns.estimate_check import check_against_estimate, design_estimate
from quanwang.campaigns.evaluation import CampaignCosts, Dimension, Group, evaluate
from quanwang.campaigns.evaluation_summary import (
    SummaryPage,
    read_summary,
    summarize,
    summary_page,
    write_summary,
)
from quanwang.campaigns.issuing import campaign_dir
from quanwang.campaigns.ledger import job_is_live
from quanwang.campaigns.models import Campaign, CampaignEvent
from quanwang.campaigns.report import CampaignInfo, ReportFiles, write_report
from quanwang.campaigns.responses import (
    ResponseError,
    ResponseReport,
    import_responses,
    responses_file,
)
from quanwang.campaigns.results import write_results
from quanwang.campaigns.services.access import visible
from quanwang.campaigns.tasks import REACHED, outcomes_table
from quanwang.channels.choices import StoreGrade
from quanwang.core.choices import JOB_LIVE, JOB_RETRYABLE, Action, JobKind, OrgLevel
from quanwang.core.errors import ServiceError
from quanwang.core.formatting import unit_names
from quanwang.core.models import Job, OrgUnit
from quanwang.core.services.jobs import start_job
from quanwang.core.uploads import private_dir
from quanwang.data.warehouse import sql_literal


def evaluation_table(*, campaign: Campaign, strata: bool = False) -> pa.Table:
    """One row per frozen customer: group, response, revenue, tier, grid, channel reached;
    with `strata`, the channel strata too (`store_grade`, `grid_type`: channel_strata; a
    stratum nobody has is left out).

    A treated customer is contacted when a gateway accepted a message for them or a grid or
    store recorded a task outcome that reached them (contacted, accepted, refused: channel
    "task"); one who accepted on a task responded, with revenue only from an imported order.
    The channel is "task" for a task acceptance, else the first gateway channel, else "task"."""
    frozen = sql_literal(campaign.audience_path)
    responses = responses_file(campaign.pk)
    answered = (
        f"read_parquet({sql_literal(str(responses))})"
        if responses.exists()
        else "(SELECT NULL AS subscriber_id, 0.0 AS revenue WHERE false)"
    )
    sends = campaign_dir(campaign.pk) / "dispatch" / "*" / "batch-*.parquet"
    has_sends = any(campaign_dir(campaign.pk).glob("dispatch/*/batch-*.parquet"))
    reached = (
        f"(SELECT subscriber_id, min(channel) AS channel FROM "
        f"read_parquet({sql_literal(str(sends))}) "
        f"WHERE status = '{SendStatus.ACCEPTED}' GROUP BY 1)"
        if has_sends
        else "(SELECT NULL AS subscriber_id, NULL AS channel WHERE false)"
    )
    reached_by_task = ", ".join(f"'{o}'" for o in REACHED)
    accepted = f"t.outcome = '{ContactOutcome.ACCEPTED}'"
    con = duckdb.connect()
    con.register("task_outcomes", outcomes_table(campaign_id=campaign.pk))
    relation = con.sql(
        f"""SELECT a.subscriber_id,
                   CASE WHEN a.in_control THEN '{Group.CONTROL}'
                        ELSE '{Group.TREATED}' END AS "group",
                   r.subscriber_id IS NOT NULL OR (NOT a.in_control AND coalesce({accepted}, false))
                       AS responded,
                   coalesce(r.revenue, 0.0) AS revenue,
                   a.value_tier, a.grid_id,
                   CASE WHEN a.in_control THEN NULL
                        WHEN {accepted} THEN '{Channel.TASK}'
                        ELSE coalesce(s.channel, CASE WHEN t.outcome IN ({reached_by_task})
                                                      THEN '{Channel.TASK}' END)
                   END AS channel,
                   NOT a.in_control AND (s.subscriber_id IS NOT NULL
                                         OR coalesce(t.outcome IN ({reached_by_task}), false))
                       AS contacted
            FROM read_parquet({frozen}) a
            LEFT JOIN {answered} r USING (subscriber_id)
            LEFT JOIN {reached} s USING (subscriber_id)
            LEFT JOIN task_outcomes t USING (subscriber_id)
            ORDER BY a.subscriber_id"""
    )
    table = relation.to_arrow_table()
    con.close()
    return with_channel_strata(table, campaign=campaign) if strata else table


def with_channel_strata(table: pa.Table, *, campaign: Campaign) -> pa.Table:
    """`table` (one row per frozen customer, in subscriber order) with the customers' store
    grade and grid type, where any customer has one."""
    found = channel_strata(campaign=campaign)
    if found is None:
        return table
    kept = [
        name
        for name in (Dimension.STORE_GRADE.value, Dimension.GRID_TYPE.value)
        if name in found.column_names and found[name].null_count < found.num_rows
    ]
    if not kept:
        return table
    joined = table.join(found.select(["subscriber_id", *kept]), "subscriber_id")
    return joined.sort_by("subscriber_id")


#: The steps of an evaluation, for its job's progress bar.
EVALUATION_STEPS = 6
Progress = Callable[[int, str], None]


def _silent(_done: int, _stage: str) -> None:
    """No progress to report (the evaluation runs in the request or a command)."""


def report_stem(campaign_id: int) -> str:
    return f"campaign-{campaign_id}-evaluation"


def summary_file(campaign_id: int) -> Path:
    """The figures the campaign page shows, written with the report (evaluation_summary)."""
    return campaign_dir(campaign_id) / "report" / f"{report_stem(campaign_id)}.json"


def _costs(campaign: Campaign) -> CampaignCosts:
    offers = list(campaign.offers.all())
    channels = [Channel(c) for c in campaign.channels]
    return CampaignCosts(
        offer_cost_per_taker=float(sum(o.cost_per_taker for o in offers)),
        contact_cost_per_contact=sum(CONTACT_COST[c] for c in channels) / max(len(channels), 1),
        contact_cost_by_channel={str(c): CONTACT_COST[c] for c in channels},
    )


def _info(campaign: Campaign) -> CampaignInfo:
    return CampaignInfo(
        name=campaign.name,
        campaign_type=CampaignType(campaign.campaign_type),
        hypothesis=campaign.hypothesis,
        objective=f"{campaign.objective_metric} ≥ {campaign.objective_target} "
        f"({campaign.objective_deadline})",
        window_start=campaign.starts_on,
        window_end=campaign.ends_on,
        segment=campaign.segment_version.text_zh,
        offers=[str(o) for o in campaign.offers.all()],
        channels=[Channel(c) for c in campaign.channels],
        budget=float(campaign.budget),
    )


def evaluate_campaign(*, campaign: Campaign, progress: Progress = _silent) -> ReportFiles:
    """Treated against control; the report (XLSX, PDF) and the page's figures; the
    per-customer results written back next to the audience (results.parquet,
    `results.write_results`): the next snapshot counts them in its customers' campaign
    history (`insight.history`).

    The design estimate is compared like with like (`estimate_check`): its takers with the
    incremental takers, its net revenue and ROI with the same quantities computed from the
    incremental takers and the costs spent. The order revenue of the responses is reported,
    never set against the estimate's revenue (which counts what a taker keeps over months)."""
    if not campaign.audience_path:
        raise ServiceError(_("The campaign was never issued: there is nothing to evaluate."))
    if not Path(campaign.audience_path).is_file():
        raise ServiceError(
            _("The campaign's frozen audience file is missing: it cannot be evaluated.")
        )
    progress(0, _("Reading the audience, the sends, the task outcomes and the responses"))
    table = evaluation_table(campaign=campaign, strata=True)
    progress(1, _("Comparing the treated and control groups"))
    channels = [Channel(c) for c in campaign.channels]
    result = evaluate(
        audience=table,
        costs=_costs(campaign),
        channel_order=[str(c) for c in channels],
        grade_order=[*StoreGrade.values, UNGRADED],
        grid_type_order=GridType.values,
    )
    design = design_estimate(campaign.estimate)
    checks = check_against_estimate(overall=result.overall, estimate=design) if design else []
    names = dict(OrgUnit.objects.filter(level=OrgLevel.GRID).values_list("code", "name"))

    def before_writing(kind: str) -> None:
        if kind == "xlsx":
            progress(2, _("Writing the XLSX report"))
        else:
            progress(3, _("Writing the PDF report"))

    files = write_report(
        evaluation=result,
        campaign=_info(campaign),
        directory=campaign_dir(campaign.pk) / "report",
        stem=report_stem(campaign.pk),
        org_unit_names=names,
        checks=checks,
        revenue_per_taker=design.revenue_per_taker if design else None,
        before_writing=before_writing,
    )
    write_summary(
        summary_file(campaign.pk), summarize(evaluation=result, checks=checks, estimate=design)
    )
    progress(4, _("Writing the results back for the next snapshot"))
    # The results keep their columns; the channel strata are the report's.
    write_results(
        campaign=campaign,
        evaluated=table.drop_columns(
            [c for c in (Dimension.STORE_GRADE.value, Dimension.GRID_TYPE.value)
             if c in table.column_names]
        ),
    )  # fmt: skip
    return files


# --- the evaluation as a background job ---------------------------------------------------


def _jobs_of(campaign: Campaign) -> Any:
    """The campaign's evaluation jobs, newest first."""
    return Job.objects.filter(
        kind=JobKind.EVALUATE_CAMPAIGN, params__campaign_id=campaign.pk
    ).order_by("-created_at", "-pk")


def latest_evaluation_job(*, campaign: Campaign) -> Job | None:
    job: Job | None = _jobs_of(campaign).first()
    return job


def live_evaluation_job(*, campaign: Campaign, other_than: int | None = None) -> Job | None:
    """The campaign's queued or running evaluation (its lease not lapsed), if any."""
    jobs = _jobs_of(campaign).filter(status__in=JOB_LIVE)
    if other_than is not None:
        jobs = jobs.exclude(pk=other_than)
    return next((j for j in jobs if job_is_live(j)), None)


def start_evaluation(
    *, actor: Any, campaign: Campaign, comment: str = "", background: bool = True
) -> Job:
    """Queue (or run) the evaluation of a closed campaign as a job. While one is queued or
    running, every request gets that same job back (a double click, a second user); after a
    failure a request queues a new one."""
    with transaction.atomic():
        # The campaign's row, locked: a concurrent request waits here, then sees this one's
        # job (on SQLite the transaction holds the write lock from its start).
        locked = visible(actor, Action.CHANGE).select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise ServiceError(_("You may not evaluate this campaign."))
        live = live_evaluation_job(campaign=locked)
        if live is not None:
            return live
        if locked.state != CampaignState.CLOSED:
            raise ServiceError(
                _("Only a closed campaign is evaluated; this one is %(state)s.")
                % {"state": CampaignState(locked.state).label}
            )
        return start_job(
            actor=actor,
            kind=JobKind.EVALUATE_CAMPAIGN,
            org_unit=locked.org_unit,
            params={"campaign_id": locked.pk, "comment": comment},
            background=background,
        )


def run_evaluation(
    *, job: Job, campaign_id: int, comment: str = "", progress: Progress = _silent
) -> dict[str, Any]:
    """The job's work: evaluate the campaign (no transaction held meanwhile, so the page can
    read the progress), then mark it evaluated in one short transaction. A retry after the
    campaign was marked evaluated changes nothing and gives the same result."""
    campaign = Campaign.objects.select_related("segment_version").get(pk=campaign_id)
    actor = job.created_by
    other = live_evaluation_job(campaign=campaign, other_than=job.pk)
    if other is not None:
        raise ServiceError(
            _("Job #%(job)d is evaluating this campaign; this job did nothing.") % {"job": other.pk}
        )
    if campaign.state != CampaignState.EVALUATED:
        if campaign.state != CampaignState.CLOSED:
            raise ServiceError(
                _("Only a closed campaign is evaluated; this one is %(state)s.")
                % {"state": CampaignState(campaign.state).label}
            )
        if not visible(actor, Action.CHANGE).filter(pk=campaign.pk).exists():
            raise ServiceError(_("You may not evaluate this campaign."))
        evaluate_campaign(campaign=campaign, progress=progress)
        progress(5, _("Marking the campaign evaluated"))
        _mark_evaluated(campaign_id=campaign.pk, actor=actor, comment=comment)
    return _job_result(campaign)


def _mark_evaluated(*, campaign_id: int, actor: Any, comment: str) -> None:
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign_id)
        if locked.state == CampaignState.EVALUATED:
            return
        if locked.state != CampaignState.CLOSED:
            raise ServiceError(
                _("Only a closed campaign is evaluated; this one is %(state)s.")
                % {"state": CampaignState(locked.state).label}
            )
        locked.state = CampaignState.EVALUATED
        locked.save(update_fields=["state", "updated_at"])
        CampaignEvent.objects.create(
            campaign=locked,
            from_state=CampaignState.CLOSED,
            to_state=CampaignState.EVALUATED,
            actor=actor,
            comment=comment,
        )


def _job_result(campaign: Campaign) -> dict[str, Any]:
    """The job page's figures: the groups, and the lift in points with its interval."""
    summary = read_summary(summary_file(campaign.pk)) or {}
    overall = summary.get("overall") or {}

    def points(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:+.2f}"

    ci = overall.get("uplift_ci")
    return {
        "campaign_id": campaign.pk,
        "treated_customers": overall.get("treated"),
        "control_customers": overall.get("control"),
        "uplift_points": points(overall.get("uplift")),
        "uplift_interval": f"[{points(ci[0])}, {points(ci[1])}]" if ci else "—",
    }


# --- the campaign page's card -------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationPanel:
    """The evaluation card of the campaign page."""

    job: Job | None  # the newest evaluation job
    job_visible: bool  # the user may open the job's page
    evaluated: bool
    may_start: bool
    summary: SummaryPage | None
    report: dict[str, Path] | None
    issued: bool  # the campaign has a frozen audience to respond

    @property
    def live(self) -> bool:
        return job_is_live(self.job)

    @property
    def takes_responses(self) -> bool:
        """Whether responses may still be loaded: issued, and neither evaluated nor being
        evaluated (what `load_responses` refuses otherwise)."""
        return self.issued and not self.evaluated and not self.live

    @property
    def failed(self) -> bool:
        """Its last run failed, was cancelled or interrupted, and the campaign is not
        evaluated: it can be evaluated again."""
        return self.job is not None and self.job.status in JOB_RETRYABLE and not self.evaluated


def evaluation_panel(*, campaign: Campaign, user: Any) -> EvaluationPanel:
    # Only a closed campaign is evaluated: the others' pages look for no job.
    closed = campaign.state in {CampaignState.CLOSED, CampaignState.EVALUATED}
    job = latest_evaluation_job(campaign=campaign) if closed else None
    evaluated = campaign.state == CampaignState.EVALUATED
    stored = read_summary(summary_file(campaign.pk)) if evaluated else None
    summary = None
    if stored is not None:
        units = [row.get("key") for row in stored["breakdowns"].get("org_unit", [])]
        summary = summary_page(stored, org_unit_names=unit_names(u for u in units if u))
    may_start = (
        campaign.state == CampaignState.CLOSED
        and not job_is_live(job)
        and visible(user, Action.CHANGE).filter(pk=campaign.pk).exists()
    )
    return EvaluationPanel(
        job=job,
        job_visible=job is not None and Job.objects.restrict(user).filter(pk=job.pk).exists(),
        evaluated=evaluated,
        may_start=may_start,
        summary=summary,
        report=report_files(campaign=campaign) if evaluated else None,
        issued=bool(campaign.audience_path),
    )


def rejected_dir(campaign_id: int) -> Path:
    """Where a campaign's rejected response rows are kept: under its own folder, so that only
    those who may see the campaign download them (`rejected_rows`)."""
    return campaign_dir(campaign_id) / "rejected"


REJECTED_NAME = re.compile(r"responses-[0-9T]+\.csv")


def load_responses(*, campaign: Campaign, path: Path) -> ResponseReport:
    """Import order/acceptance records for this campaign (rows naming another are quarantined).
    Refused once the campaign is evaluated, or while it is: its figures would not count
    them."""
    if not campaign.audience_path:
        raise ServiceError(_("The campaign was never issued: it has no audience to respond."))
    if campaign.state == CampaignState.EVALUATED:
        raise ServiceError(
            _("The campaign has been evaluated: its responses are closed."), field="file"
        )
    live = live_evaluation_job(campaign=campaign)
    if live is not None:
        raise ServiceError(
            _("The campaign is being evaluated (job #%(job)d): its responses are closed.")
            % {"job": live.pk},
            field="file",
        )
    try:
        return import_responses(
            path=path,
            audiences={campaign.pk: Path(campaign.audience_path)},
            quarantine_dir=private_dir(rejected_dir(campaign.pk)),
        )
    except ResponseError as exc:
        raise ServiceError(str(exc), field="file") from exc


@dataclass(frozen=True)
class RejectedRows:
    path: Path
    download_name: str  # after the file the user uploaded


def rejected_rows(*, campaign: Campaign, name: str) -> RejectedRows | None:
    """A response import's rejected rows of this campaign, by the file's name; None when there
    is no such file (or the name is not one of them). The download is named after the file
    the user uploaded, which each row names."""
    if not REJECTED_NAME.fullmatch(name):
        return None
    path = rejected_dir(campaign.pk) / name
    if not path.is_file():
        return None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = next(csv.DictReader(handle), None)
    uploaded = Path(str((first or {}).get("file") or "")).stem
    return RejectedRows(
        path=path, download_name=f"{uploaded}-rejected.csv" if uploaded else path.name
    )


def report_files(*, campaign: Campaign) -> dict[str, Path] | None:
    """The evaluation report's files by format, once the campaign has been evaluated."""
    folder = campaign_dir(campaign.pk) / "report"
    found = {
        kind: folder / f"campaign-{campaign.pk}-evaluation.{kind}"
        for kind in ("xlsx", "pdf")
        if (folder / f"campaign-{campaign.pk}-evaluation.{kind}").exists()
    }
    return found or None
