"""Use cases of campaigns (营销案): design, estimate, approval, issuing, with a full history.

State machine (who may move it, by permission on the campaign's org unit):

    draft ──submit──▶ submitted ──approve──▶ approved ──issue──▶ issued ──start──▶ running
      ▲                   │                                                          │
      └────revise──── rejected ◀──reject──┘                           close ──▶ closed ──▶ evaluated

Submitting, revising, issuing, starting and closing need CHANGE; approving and rejecting
need APPROVE, and nobody approves or rejects a campaign they created.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.channels import SendStatus
from quanwang.campaigns.choices import CampaignState, CampaignType, Channel
from quanwang.campaigns.dispatch import DispatchError, step_dir
from quanwang.campaigns.estimate import CONTACT_COST, TAKE_RATES, AudienceFacts, Estimate, estimate
from quanwang.campaigns.evaluation import CampaignCosts, Group, RevenueEstimate, evaluate
from quanwang.campaigns.issuing import campaign_dir, freeze
from quanwang.campaigns.models import Campaign, CampaignEvent, Offer, Quota, SegmentVersion
from quanwang.campaigns.report import CampaignInfo, ReportFiles, write_report
from quanwang.campaigns.responses import (
    ResponseError,
    ResponseReport,
    import_responses,
    responses_file,
)
from quanwang.campaigns.segments import audience_expression, checked, newest_snapshot, unit_scope
from quanwang.core.choices import Action, JobKind, OrgLevel
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job, OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.core.services.jobs import start_job
from quanwang.data.warehouse import sql_literal
from quanwang.insight.snapshots import Snapshot

S = CampaignState


@dataclass(frozen=True)
class Move:
    source: frozenset[CampaignState]
    target: CampaignState
    action: Action


MOVES = {
    "submit": Move(frozenset({S.DRAFT}), S.SUBMITTED, Action.CHANGE),
    "revise": Move(frozenset({S.REJECTED}), S.DRAFT, Action.CHANGE),
    "approve": Move(frozenset({S.SUBMITTED}), S.APPROVED, Action.APPROVE),
    "reject": Move(frozenset({S.SUBMITTED}), S.REJECTED, Action.APPROVE),
    "issue": Move(frozenset({S.APPROVED}), S.ISSUED, Action.CHANGE),
    "start": Move(frozenset({S.ISSUED}), S.RUNNING, Action.CHANGE),
    "close": Move(frozenset({S.RUNNING}), S.CLOSED, Action.CHANGE),
    "evaluate": Move(frozenset({S.CLOSED}), S.EVALUATED, Action.CHANGE),
}
EDITABLE = frozenset({S.DRAFT})


def visible(user: Any, action: Action = Action.VIEW) -> Any:
    """The campaigns `user` may act on; all of them for the system (no user: commands, jobs)."""
    if user is None:
        return Campaign.objects.all()
    return Campaign.objects.restrict(user, action)


def get_campaign(*, user: Any, pk: int, action: Action = Action.VIEW) -> Campaign:
    campaign = visible(user, action).filter(pk=pk).first()
    if campaign is None:
        raise NotFound()
    return campaign


@dataclass(frozen=True)
class Design:
    """What a marketer fills in for a campaign."""

    name: str
    campaign_type: CampaignType
    hypothesis: str
    objective_metric: str
    objective_target: Decimal
    objective_deadline: dt.date
    segment_version: SegmentVersion
    offers: list[Offer]
    channels: list[Channel]
    starts_on: dt.date
    ends_on: dt.date
    budget: Decimal
    control_share: Decimal = Decimal("0.100")
    seed: int = 1


def _check_design(design: Design, *, today: dt.date) -> None:
    if not design.hypothesis.strip():
        raise ServiceError(_("State the strategy hypothesis."), field="hypothesis")
    if design.starts_on < today:
        raise ServiceError(
            _("The campaign window starts on %(start)s, in the past; pick a start from today.")
            % {"start": design.starts_on},
            field="starts_on",
        )
    if design.ends_on < design.starts_on:
        raise ServiceError(_("The window ends before it starts."), field="ends_on")
    if design.objective_deadline < design.starts_on:
        raise ServiceError(
            _("The objective's deadline is before the start."), field="objective_deadline"
        )
    if not design.channels:
        raise ServiceError(_("Pick at least one channel."), field="channels")
    if design.budget < 0:
        raise ServiceError(_("The budget cannot be negative."), field="budget")
    if not Decimal("0.01") <= design.control_share <= Decimal("0.5"):
        raise ServiceError(
            _("The control group share is between 0.01 and 0.5 of the audience."),
            field="control_share",
        )
    for offer in design.offers:
        if offer.valid_until < design.starts_on or offer.valid_from > design.ends_on:
            raise ServiceError(
                _("Offer %(offer)s is valid %(start)s to %(end)s, outside the campaign window.")
                % {"offer": offer.code, "start": offer.valid_from, "end": offer.valid_until},
                field="offers",
            )


def create_campaign(
    *, actor: Any, org_unit: OrgUnit, design: Design, today: dt.date | None = None
) -> Campaign:
    """A draft campaign with its first revenue estimate."""
    if actor is not None and not has_grant(
        actor, resource=Campaign.scope_resource, action=Action.ADD
    ):
        raise ServiceError(_("You may not design campaigns."))
    _check_design(design, today=today or timezone.localdate())
    snapshot = newest_snapshot()
    checked(design.segment_version.rule, user=actor, snapshot=snapshot)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=design.name,
            campaign_type=design.campaign_type,
            hypothesis=design.hypothesis,
            objective_metric=design.objective_metric,
            objective_target=design.objective_target,
            objective_deadline=design.objective_deadline,
            segment_version=design.segment_version,
            channels=[str(c) for c in design.channels],
            starts_on=design.starts_on,
            ends_on=design.ends_on,
            budget=design.budget,
            control_share=design.control_share,
            seed=design.seed,
            org_unit=org_unit,
            created_by=actor,
        )
        campaign.offers.set(design.offers)
        campaign.estimate = revenue_estimate(campaign=campaign, snapshot=snapshot).as_json()
        campaign.save(update_fields=["estimate"])
        CampaignEvent.objects.create(
            campaign=campaign, from_state="", to_state=S.DRAFT, actor=actor, comment=_("Created")
        )
    return campaign


def audience_facts(*, campaign: Campaign, snapshot: Snapshot) -> AudienceFacts:
    """Size and means of the campaign's audience on a snapshot, within its org unit."""
    con, audience = audience_expression(
        rule=campaign.segment_version.rule, snapshot=snapshot, scope=unit_scope(campaign.org_unit)
    )
    columns = snapshot.columns
    means = {
        name: audience[name].mean()
        for name in ("arpu_3m", "churn_risk", "upgrade_5g_propensity")
        if name in columns
    }
    row = audience.aggregate(customers=audience.count(), **means).to_pyarrow().to_pylist()[0]
    con.disconnect()
    return AudienceFacts(
        customers=int(row["customers"]),
        mean_arpu=row.get("arpu_3m"),
        mean_churn_risk=row.get("churn_risk"),
        mean_upgrade_propensity=row.get("upgrade_5g_propensity"),
    )


def revenue_estimate(
    *, campaign: Campaign, snapshot: Snapshot, overrides: dict[str, float] | None = None
) -> Estimate:
    offers = list(campaign.offers.all())
    return estimate(
        campaign_type=CampaignType(campaign.campaign_type),
        audience=audience_facts(campaign=campaign, snapshot=snapshot),
        control_share=float(campaign.control_share),
        channels=[Channel(c) for c in campaign.channels],
        offer_cost_per_taker=float(sum(o.cost_per_taker for o in offers)),
        offer_monthly_revenue_change=float(sum(o.monthly_revenue_change for o in offers)),
        overrides=overrides,
    )


def update_estimate(*, actor: Any, campaign: Campaign, overrides: dict[str, float]) -> Campaign:
    """Recompute the estimate with the marketer's own assumptions (draft campaigns only)."""
    with transaction.atomic():
        locked = visible(actor, Action.CHANGE).select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise NotFound()
        if locked.state not in EDITABLE:
            raise ServiceError(_("Only a draft campaign's estimate can change."))
        locked.estimate = revenue_estimate(
            campaign=locked, snapshot=newest_snapshot(), overrides=overrides
        ).as_json()
        locked.save(update_fields=["estimate", "updated_at"])
    return locked


def transition(
    *, actor: Any, campaign: Campaign, move: str, comment: str = "", today: dt.date | None = None
) -> Campaign:
    """Move a campaign along its state machine, recording who, when and why."""
    step = MOVES.get(move)
    if step is None:
        raise ServiceError(_("Unknown step %(move)s.") % {"move": move})
    with transaction.atomic():
        locked = visible(actor, step.action).select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise ServiceError(_("You may not %(move)s this campaign.") % {"move": move})
        if locked.state not in step.source:
            raise ServiceError(
                _("A %(state)s campaign cannot be %(move)s-ed.")
                % {"state": S(locked.state).label, "move": move}
            )
        if step.action is Action.APPROVE and actor is not None and locked.created_by_id == actor.pk:
            raise ServiceError(_("Nobody approves or rejects their own campaign."))
        if move == "reject" and not comment.strip():
            raise ServiceError(_("Say why the campaign is rejected."), field="comment")
        if move == "issue":
            _issue(locked, today=today or timezone.localdate())
        if move == "evaluate":
            evaluate_campaign(campaign=locked)
        previous = locked.state
        locked.state = step.target
        locked.save(update_fields=["state", "audience_path", "audience_size", "updated_at"])
        CampaignEvent.objects.create(
            campaign=locked, from_state=previous, to_state=step.target, actor=actor, comment=comment
        )
    return locked


def _issue(campaign: Campaign, *, today: dt.date) -> None:
    """Freeze the audience on the newest snapshot and split quotas over the campaign's grids."""
    if campaign.ends_on < today:
        raise ServiceError(_("The campaign window has ended; it can no longer be issued."))
    snapshot = newest_snapshot()
    checked(campaign.segment_version.rule, user=None, snapshot=snapshot)
    con, audience = audience_expression(
        rule=campaign.segment_version.rule, snapshot=snapshot, scope=unit_scope(campaign.org_unit)
    )
    relation = con.con.sql(ibis.to_sql(audience, dialect="duckdb"))
    frozen = freeze(
        selected=relation,
        columns=list(snapshot.columns),
        target=campaign_dir(campaign.pk) / "audience.parquet",
        control_share=float(campaign.control_share),
        seed=campaign.seed,
    )
    con.disconnect()
    if frozen.customers == 0:
        raise ServiceError(
            _("The segment selects no customers in %(unit)s on snapshot %(month)s.")
            % {"unit": campaign.org_unit.name, "month": snapshot.month}
        )
    campaign.audience_path = str(frozen.path)
    campaign.audience_size = frozen.customers
    take_rate = _expected_take_rate(campaign)
    units = {
        u.code: u
        for u in OrgUnit.objects.filter(
            path__startswith=campaign.org_unit.path,
            level=OrgLevel.GRID,
            code__in=list(frozen.by_grid),
        )
    }
    Quota.objects.filter(campaign=campaign).delete()
    Quota.objects.bulk_create(
        [
            Quota(
                campaign=campaign,
                org_unit=units[grid],
                audience=treated,
                target=math.ceil(treated * take_rate),
                deadline=campaign.ends_on,
            )
            for grid, (treated, _control) in sorted(frozen.by_grid.items())
            if grid in units and treated > 0
        ]
    )


def _expected_take_rate(campaign: Campaign) -> float:
    for assumption in campaign.estimate.get("assumptions", []):
        if assumption["name"] == "take_rate_expected":
            return float(assumption["value"])
    return TAKE_RATES[CampaignType(campaign.campaign_type)][1]


DISPATCHABLE = frozenset({S.ISSUED, S.RUNNING})


def start_dispatch(
    *,
    actor: Any,
    campaign: Campaign,
    step: str,
    channel: Channel,
    text: str,
    send_at: dt.datetime | None = None,
    background: bool = True,
) -> Job:
    """Queue (or run) the dispatch of one step of an issued campaign on one channel."""
    locked = visible(actor, Action.CHANGE).filter(pk=campaign.pk).first()
    if locked is None:
        raise ServiceError(_("You may not dispatch this campaign."))
    if locked.state not in DISPATCHABLE or not locked.audience_path:
        raise ServiceError(
            _("Only an issued or running campaign is dispatched; this one is %(state)s.")
            % {"state": S(locked.state).label}
        )
    if str(channel) not in locked.channels:
        raise ServiceError(
            _("%(channel)s is not one of this campaign's channels.") % {"channel": channel.label},
            field="channel",
        )
    if not text.strip():
        raise ServiceError(_("Write the message."), field="text")
    try:
        step_dir(locked.pk, step)
    except DispatchError as exc:
        raise ServiceError(str(exc), field="step") from exc
    moment = send_at or timezone.now()
    return start_job(
        actor=actor,
        kind=JobKind.DISPATCH_CAMPAIGN,
        org_unit=locked.org_unit,
        params={
            "campaign_id": locked.pk,
            "step": step,
            "channel": str(channel),
            "text": text,
            "send_at": moment.isoformat(),
        },
        background=background,
    )


def evaluation_table(*, campaign: Campaign) -> pa.Table:
    """One row per frozen customer: group, response, revenue, tier, grid, channel reached."""
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
    relation = duckdb.sql(
        f"""SELECT a.subscriber_id,
                   CASE WHEN a.in_control THEN '{Group.CONTROL}'
                        ELSE '{Group.TREATED}' END AS "group",
                   r.subscriber_id IS NOT NULL AS responded, coalesce(r.revenue, 0.0) AS revenue,
                   a.value_tier, a.grid_id,
                   CASE WHEN a.in_control THEN NULL ELSE s.channel END AS channel,
                   NOT a.in_control AND s.subscriber_id IS NOT NULL AS contacted
            FROM read_parquet({frozen}) a
            LEFT JOIN {answered} r USING (subscriber_id)
            LEFT JOIN {reached} s USING (subscriber_id)
            ORDER BY a.subscriber_id"""
    )
    assert relation is not None  # a SELECT always gives a relation
    return relation.to_arrow_table()


def evaluate_campaign(*, campaign: Campaign) -> ReportFiles:
    """Treated against control, the report (XLSX, PDF), and the per-customer results written
    back next to the audience (results.parquet) for the next analysis."""
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
    results = table.append_column(
        "campaign_id", pa.array([campaign.pk] * table.num_rows, pa.int64())
    ).append_column(
        "campaign_type", pa.array([campaign.campaign_type] * table.num_rows, pa.string())
    )
    target = campaign_dir(campaign.pk) / "results.parquet"
    staging = target.with_suffix(".tmp")
    pq.write_table(results, staging)
    staging.replace(target)
    return files


# Early warning (预警): from this share of the window on, a unit below this share of its
# expected pace is flagged.
WARN_FROM_ELAPSED = 0.5
WARN_BELOW_PACE = 0.6


@dataclass(frozen=True)
class UnitProgress:
    unit: OrgUnit
    audience: int
    target: int
    contacted: int
    responders: int
    expected_by_now: float
    pace: float | None  # responders ÷ expected by now
    behind: bool


def execution_progress(*, campaign: Campaign, today: dt.date | None = None) -> list[UnitProgress]:
    """Each quota's unit against its target and the time elapsed, with early warnings."""
    quotas = list(Quota.objects.filter(campaign=campaign).select_related("org_unit"))
    if not quotas or not campaign.audience_path:
        return []
    day = today or timezone.localdate()
    span = max((campaign.ends_on - campaign.starts_on).days, 1)
    elapsed = min(max((day - campaign.starts_on).days / span, 0.0), 1.0)
    table = evaluation_table(campaign=campaign)
    con = duckdb.connect()
    con.register("evaluated", table)
    counts = {
        grid: (int(contacted), int(responders))
        for grid, contacted, responders in con.execute(
            "SELECT grid_id, count(*) FILTER (WHERE contacted), "
            f"count(*) FILTER (WHERE responded AND \"group\" = '{Group.TREATED}') "
            "FROM evaluated GROUP BY 1"
        ).fetchall()
    }
    rows = []
    for quota in quotas:
        contacted, responders = counts.get(quota.org_unit.code, (0, 0))
        expected = quota.target * elapsed
        pace = responders / expected if expected > 0 else None
        rows.append(
            UnitProgress(
                unit=quota.org_unit,
                audience=quota.audience,
                target=quota.target,
                contacted=contacted,
                responders=responders,
                expected_by_now=round(expected, 1),
                pace=None if pace is None else round(pace, 2),
                behind=elapsed >= WARN_FROM_ELAPSED and pace is not None and pace < WARN_BELOW_PACE,
            )
        )
    return rows


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
