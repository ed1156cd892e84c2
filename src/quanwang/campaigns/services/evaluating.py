"""Evaluating a campaign against its control group, its report and its responses."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings
from django.utils.translation import gettext as _

from quanwang.campaigns.channels import SendStatus
from quanwang.campaigns.choices import (
    CampaignType,
    Channel,
    ContactOutcome,
)
from quanwang.campaigns.estimate import CONTACT_COST
from quanwang.campaigns.evaluation import CampaignCosts, Group, RevenueEstimate, evaluate
from quanwang.campaigns.issuing import campaign_dir
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.report import CampaignInfo, ReportFiles, write_report
from quanwang.campaigns.responses import (
    ResponseError,
    ResponseReport,
    import_responses,
    responses_file,
)
from quanwang.campaigns.results import write_results
from quanwang.campaigns.tasks import REACHED, outcomes_table
from quanwang.core.choices import OrgLevel
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.data.warehouse import sql_literal


def evaluation_table(*, campaign: Campaign) -> pa.Table:
    """One row per frozen customer: group, response, revenue, tier, grid, channel reached.

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
    return table


def evaluate_campaign(*, campaign: Campaign) -> ReportFiles:
    """Treated against control, the report (XLSX, PDF), and the per-customer results written
    back next to the audience (results.parquet, `results.write_results`): the next snapshot
    counts them in its customers' campaign history (`insight.history`)."""
    if not campaign.audience_path:
        raise ServiceError(_("The campaign was never issued: there is nothing to evaluate."))
    table = evaluation_table(campaign=campaign)
    offers = list(campaign.offers.all())
    channels = [Channel(c) for c in campaign.channels]
    costs = CampaignCosts(
        offer_cost_per_taker=float(sum(o.cost_per_taker for o in offers)),
        contact_cost_per_contact=sum(CONTACT_COST[c] for c in channels) / max(len(channels), 1),
        contact_cost_by_channel={str(c): CONTACT_COST[c] for c in channels},
    )
    net = sorted(campaign.estimate.get("net_revenue") or [])
    result = evaluate(
        audience=table,
        costs=costs,
        estimate=RevenueEstimate(*net) if len(net) == 3 else None,
        channel_order=[str(c) for c in channels],
    )
    info = CampaignInfo(
        name=campaign.name,
        campaign_type=CampaignType(campaign.campaign_type),
        hypothesis=campaign.hypothesis,
        objective=f"{campaign.objective_metric} ≥ {campaign.objective_target} "
        f"({campaign.objective_deadline})",
        window_start=campaign.starts_on,
        window_end=campaign.ends_on,
        segment=campaign.segment_version.text_zh,
        offers=[str(o) for o in offers],
        channels=channels,
        budget=float(campaign.budget),
    )
    names = dict(OrgUnit.objects.filter(level=OrgLevel.GRID).values_list("code", "name"))
    files = write_report(
        evaluation=result,
        campaign=info,
        directory=campaign_dir(campaign.pk) / "report",
        stem=f"campaign-{campaign.pk}-evaluation",
        org_unit_names=names,
    )
    write_results(campaign=campaign, evaluated=table)
    return files


def load_responses(*, campaign: Campaign, path: Path) -> ResponseReport:
    """Import order/acceptance records for this campaign (rows naming another are quarantined)."""
    if not campaign.audience_path:
        raise ServiceError(_("The campaign was never issued: it has no audience to respond."))
    try:
        return import_responses(
            path=path,
            audiences={campaign.pk: Path(campaign.audience_path)},
            quarantine_dir=Path(settings.VAR_DIR) / "quarantine",
        )
    except ResponseError as exc:
        raise ServiceError(str(exc), field="file") from exc


def report_files(*, campaign: Campaign) -> dict[str, Path] | None:
    """The evaluation report's files by format, once the campaign has been evaluated."""
    folder = campaign_dir(campaign.pk) / "report"
    found = {
        kind: folder / f"campaign-{campaign.pk}-evaluation.{kind}"
        for kind in ("xlsx", "pdf")
        if (folder / f"campaign-{campaign.pk}-evaluation.{kind}").exists()
    }
    return found or None
