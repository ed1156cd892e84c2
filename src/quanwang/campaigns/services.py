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
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.channels import SendStatus
from quanwang.campaigns.choices import (
    CampaignState,
    CampaignType,
    Channel,
    ContactOutcome,
    Targeting,
    TaskSplit,
)
from quanwang.campaigns.dispatch import DispatchError, step_dir
from quanwang.campaigns.estimate import (
    CONTACT_COST,
    TAKE_RATES,
    AudienceFacts,
    Estimate,
    PredictedUplift,
    estimate,
)
from quanwang.campaigns.evaluation import CampaignCosts, Group, RevenueEstimate, evaluate
from quanwang.campaigns.issuing import (
    ACCOUNT_MANAGER,
    account_manager_assignments,
    campaign_dir,
    freeze,
    read_json,
    record_snapshot,
    recorded_snapshot,
    write_json,
)
from quanwang.campaigns.models import Campaign, CampaignEvent, Offer, Quota, SegmentVersion
from quanwang.campaigns.report import CampaignInfo, ReportFiles, write_report
from quanwang.campaigns.responses import (
    ResponseError,
    ResponseReport,
    import_responses,
    responses_file,
)
from quanwang.campaigns.results import results_file, write_results
from quanwang.campaigns.segments import audience_expression, checked, newest_snapshot, unit_scope
from quanwang.campaigns.tasks import REACHED, outcomes_table
from quanwang.campaigns.uplift import (
    MIN_ARM_ROWS,
    Arms,
    Targeted,
    UpliftError,
    target_by_uplift,
    training_table,
)
from quanwang.core.choices import Action, JobKind, OrgLevel
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job, OrgUnit, Staff
from quanwang.core.querysets import has_grant
from quanwang.core.services.jobs import start_job
from quanwang.data.warehouse import sql_literal
from quanwang.insight.snapshots import Snapshot, SnapshotNotFound, SnapshotStore

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
    # Uplift targeting keeps the top `targeting_share` of the segment by the uplift a model
    # learned from `uplift_source` (an evaluated campaign) predicts.
    targeting: Targeting = Targeting.SEGMENT
    targeting_share: Decimal = Decimal("0.300")
    uplift_source: Campaign | None = None
    # Whose task lists the task steps fill: split by account manager, the members of an
    # enterprise with an account manager go to that manager's list and quota.
    task_split: TaskSplit = TaskSplit.GRID


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
    if design.task_split == TaskSplit.ACCOUNT_MANAGER and Channel.TASK not in design.channels:
        raise ServiceError(
            _("Task lists are split by account manager only in a campaign with the task "
              "channel."),
            field="task_split",
        )  # fmt: skip
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
    if design.targeting == Targeting.UPLIFT:
        if not Decimal("0.01") <= design.targeting_share <= Decimal("1"):
            raise ServiceError(
                _("The share to target by uplift is between 0.01 and 1 of the segment."),
                field="targeting_share",
            )
        _uplift_source(design.uplift_source, campaign_type=design.campaign_type)


def create_campaign(
    *, actor: Any, org_unit: OrgUnit, design: Design, today: dt.date | None = None
) -> Campaign:
    """A draft campaign with its first revenue estimate."""
    if actor is not None and not has_grant(
        actor, resource=Campaign.scope_resource, action=Action.ADD
    ):
        raise ServiceError(_("You may not design campaigns."))
    _check_design(design, today=today or timezone.localdate())
    by_uplift = design.targeting == Targeting.UPLIFT
    if (
        by_uplift
        and actor is not None
        and design.uplift_source is not None
        and not visible(actor).filter(pk=design.uplift_source.pk).exists()
    ):
        raise ServiceError(
            _("Campaign %(name)s is outside your scope: pick one you can see.")
            % {"name": design.uplift_source.name},
            field="uplift_source",
        )
    snapshot = newest_snapshot()
    checked(design.segment_version.rule, user=actor, snapshot=snapshot)
    # Fitted before the transaction: a model takes seconds, and a row lock should not.
    targets = (
        _uplift_targets(
            rule=design.segment_version.rule,
            org_unit=org_unit,
            source=design.uplift_source,
            campaign_type=design.campaign_type,
            share=design.targeting_share,
            snapshot=snapshot,
            seed=design.seed,
            holdout=False,
        )
        if by_uplift
        else None
    )
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
            targeting=design.targeting,
            targeting_share=design.targeting_share,
            uplift_source=design.uplift_source if by_uplift else None,
            task_split=design.task_split,
            org_unit=org_unit,
            created_by=actor,
        )
        campaign.offers.set(design.offers)
        campaign.estimate = revenue_estimate(
            campaign=campaign, snapshot=snapshot, targets=targets
        ).as_json()
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
    *,
    campaign: Campaign,
    snapshot: Snapshot,
    overrides: dict[str, float] | None = None,
    targets: UpliftTargets | None = None,
) -> Estimate:
    """The estimate of the campaign's audience; targeted by uplift, of the customers the
    model keeps, with the incremental takers it predicts (`targets`, fitted when not given)."""
    offers = list(campaign.offers.all())
    uplift = None
    if campaign.targeting == Targeting.UPLIFT:
        chosen = targets or _campaign_targets(campaign=campaign, snapshot=snapshot, holdout=False)
        audience = chosen.audience
        facts = chosen.targeted.facts
        uplift = PredictedUplift(
            mean=facts.mean_uplift_targeted,
            source=f"mean predicted uplift of the {facts.targeted} targeted customers "
            f"({facts.learner} on campaign #{facts.source_campaign}'s results)",
        )
    else:
        audience = audience_facts(campaign=campaign, snapshot=snapshot)
    return estimate(
        campaign_type=CampaignType(campaign.campaign_type),
        audience=audience,
        control_share=float(campaign.control_share),
        channels=[Channel(c) for c in campaign.channels],
        offer_cost_per_taker=float(sum(o.cost_per_taker for o in offers)),
        offer_monthly_revenue_change=float(sum(o.monthly_revenue_change for o in offers)),
        overrides=overrides,
        uplift=uplift,
    )


def update_estimate(*, actor: Any, campaign: Campaign, overrides: dict[str, float]) -> Campaign:
    """Recompute the estimate with the marketer's own assumptions (draft campaigns only)."""
    snapshot = newest_snapshot()
    # A draft's design does not change, so the model is fitted outside the row lock.
    targets = (
        _campaign_targets(campaign=campaign, snapshot=snapshot, holdout=False)
        if campaign.targeting == Targeting.UPLIFT and campaign.state in EDITABLE
        else None
    )
    with transaction.atomic():
        locked = visible(actor, Action.CHANGE).select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise NotFound()
        if locked.state not in EDITABLE:
            raise ServiceError(_("Only a draft campaign's estimate can change."))
        locked.estimate = revenue_estimate(
            campaign=locked, snapshot=snapshot, overrides=overrides, targets=targets
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
    """Freeze the audience on the newest snapshot and split quotas over the campaign's grids;
    split by account manager, each enterprise customer whose account manager is a staff
    member of the campaign's org unit (or below) is frozen with them and counts in that
    manager's quota instead of their grid's."""
    if campaign.ends_on < today:
        raise ServiceError(_("The campaign window has ended; it can no longer be issued."))
    snapshot = newest_snapshot()
    checked(campaign.segment_version.rule, user=None, snapshot=snapshot)
    # Uplift targeting: the source is checked again (it may have changed since the design),
    # the model fitted, and only its top share of the segment goes on to be frozen, so the
    # control group is drawn inside the targeted customers.
    targets = (
        _campaign_targets(campaign=campaign, snapshot=snapshot, holdout=True)
        if campaign.targeting == Targeting.UPLIFT
        else None
    )
    con, audience = audience_expression(
        rule=campaign.segment_version.rule, snapshot=snapshot, scope=unit_scope(campaign.org_unit)
    )
    selected = ibis.to_sql(audience, dialect="duckdb")
    columns = list(snapshot.columns)
    if targets is not None:
        chosen = targets.targeted.scores.filter(pc.field("targeted"))
        con.con.register("uplift_targets", chosen.select(["subscriber_id", "predicted_uplift"]))
        selected = (
            f"SELECT s.*, t.predicted_uplift FROM ({selected}) s "
            "JOIN uplift_targets t USING (subscriber_id)"
        )
        columns.append("predicted_uplift")
    managers: dict[str, Staff] = {}
    if campaign.task_split == TaskSplit.ACCOUNT_MANAGER:
        # Only staff of the campaign's own organisation take its tasks; the customers of an
        # enterprise served from elsewhere (or by nobody on record) stay with their grid.
        managers = {
            member.employee_no: member
            for member in Staff.objects.filter(
                org_unit__path__startswith=campaign.org_unit.path
            ).select_related("org_unit")
        }
        con.con.register(
            "account_managers",
            account_manager_assignments(employee_numbers=sorted(managers)),
        )
        selected = (
            f"SELECT s.*, m.{ACCOUNT_MANAGER} FROM ({selected}) s "
            "LEFT JOIN account_managers m USING (subscriber_id)"
        )
        columns.append(ACCOUNT_MANAGER)
    frozen = freeze(
        selected=con.con.sql(selected),
        columns=columns,
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
    # Written with the audience, before commit like it: read only through an issued
    # campaign, and issuing again replaces them.
    record_snapshot(campaign_id=campaign.pk, month=snapshot.month, run_id=snapshot.run_id)
    if targets is not None:
        _keep_uplift(campaign_id=campaign.pk, targeted=targets.targeted)
    campaign.audience_path = str(frozen.path)
    campaign.audience_size = frozen.customers
    take_rate = (
        targets.targeted.facts.mean_response_targeted
        if targets is not None
        else _expected_take_rate(campaign)
    )
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
        # An account manager's quota: their treated customers, at their own org unit.
        + [
            Quota(
                campaign=campaign,
                org_unit=managers[employee_no].org_unit,
                account_manager=managers[employee_no],
                audience=treated,
                target=math.ceil(treated * take_rate),
                deadline=campaign.ends_on,
            )
            for employee_no, (treated, _control) in sorted(frozen.by_account_manager.items())
            if employee_no in managers and treated > 0
        ]
    )


def _expected_take_rate(campaign: Campaign) -> float:
    for assumption in campaign.estimate.get("assumptions", []):
        if assumption["name"] == "take_rate_expected":
            return float(assumption["value"])
    return TAKE_RATES[CampaignType(campaign.campaign_type)][1]


# --- uplift targeting --------------------------------------------------------------------

UPLIFT_RECORD = "uplift.json"
UPLIFT_SCORES = "uplift_scores.parquet"


def uplift_sources(*, user: Any) -> Any:
    """The campaigns a new one may learn its uplift from: the evaluated ones the user sees."""
    return visible(user).filter(state=S.EVALUATED).order_by("-updated_at")


@dataclass(frozen=True)
class UpliftSource:
    campaign: Campaign
    results: Path
    snapshot: Snapshot  # the one the source campaign was issued on
    arms: Arms


def _uplift_source(source: Campaign | None, *, campaign_type: CampaignType) -> UpliftSource:
    """The evaluated campaign an uplift model learns from, checked: its results are there, both
    groups are big enough and have responders, and its snapshot still exists."""

    def refuse(message: str) -> ServiceError:
        return ServiceError(message, field="uplift_source")

    if source is None:
        raise refuse(_("Targeting by uplift needs an evaluated campaign to learn from."))
    named = {"name": source.name}
    if source.state != S.EVALUATED:
        raise refuse(
            _(
                "Campaign %(name)s is %(state)s: only an evaluated campaign's results can "
                "train an uplift model."
            )
            % {**named, "state": S(source.state).label}
        )
    if source.campaign_type != campaign_type:
        raise refuse(
            _(
                "Campaign %(name)s is of type %(source)s; its uplift says nothing about a "
                "campaign of type %(target)s."
            )
            % {
                **named,
                "source": CampaignType(source.campaign_type).label,
                "target": CampaignType(campaign_type).label,
            }
        )
    results = results_file(source.pk)
    if not results.is_file():
        raise refuse(_("Campaign %(name)s has no results file (results.parquet).") % named)
    row = (
        duckdb.connect()
        .execute(
            f"""SELECT count(*) FILTER (WHERE "group" = '{Group.TREATED}'),
                       count(*) FILTER (WHERE "group" = '{Group.CONTROL}'),
                       count(*) FILTER (WHERE "group" = '{Group.TREATED}' AND responded),
                       count(*) FILTER (WHERE "group" = '{Group.CONTROL}' AND responded)
                FROM read_parquet({sql_literal(str(results))})"""
        )
        .fetchall()[0]
    )
    counted = Arms(*(int(n) for n in row))
    if min(counted.treated, counted.control) < MIN_ARM_ROWS:
        raise refuse(
            _(
                "Campaign %(name)s has %(treated)s treated and %(control)s control customers; "
                "an uplift model needs %(minimum)s in each group."
            )
            % {
                **named,
                "treated": counted.treated,
                "control": counted.control,
                "minimum": MIN_ARM_ROWS,
            }
        )
    if min(counted.treated_responders, counted.control_responders) == 0:
        raise refuse(
            _(
                "Campaign %(name)s has %(treated)s responders in its treated group and "
                "%(control)s in its control group; an uplift model needs responders in both."
            )
            % {
                **named,
                "treated": counted.treated_responders,
                "control": counted.control_responders,
            }
        )
    recorded = recorded_snapshot(source.pk)
    if recorded is None:
        raise refuse(
            _(
                "Campaign %(name)s was issued before issuing recorded its snapshot: the "
                "features its customers had then are unknown."
            )
            % named
        )
    try:
        snapshot = SnapshotStore().get(*recorded)
    except SnapshotNotFound as exc:
        raise refuse(
            _(
                "The snapshot campaign %(name)s was issued on (%(month)s, run %(run)s) is gone: "
                "the features its customers had then cannot be read back."
            )
            % {**named, "month": recorded[0], "run": recorded[1]}
        ) from exc
    return UpliftSource(campaign=source, results=results, snapshot=snapshot, arms=counted)


@dataclass(frozen=True)
class UpliftTargets:
    targeted: Targeted
    audience: AudienceFacts  # of the targeted customers


def _uplift_targets(
    *,
    rule: dict[str, Any],
    org_unit: OrgUnit,
    source: Campaign | None,
    campaign_type: CampaignType,
    share: Decimal,
    snapshot: Snapshot,
    seed: int,
    holdout: bool,
) -> UpliftTargets:
    """Fit the model on the source's results and keep the top share of the segment."""
    checked_source = _uplift_source(source, campaign_type=campaign_type)
    con, audience = audience_expression(rule=rule, snapshot=snapshot, scope=unit_scope(org_unit))
    # Identifiers and numbers only: the model reads numeric and yes/no columns.
    numeric = [
        name
        for name, kind in audience.schema().items()
        if name == "subscriber_id" or kind.is_numeric() or kind.is_boolean()
    ]
    segment = audience.select(numeric).to_pyarrow()
    con.disconnect()
    training = training_table(
        results=checked_source.results, snapshot_relation=checked_source.snapshot.relation
    )
    try:
        targeted = target_by_uplift(
            training=training,
            segment=segment,
            share=float(share),
            source_campaign=checked_source.campaign.pk,
            source_snapshot=checked_source.snapshot.label,
            seed=seed,
            holdout=holdout,
        )
    except UpliftError as exc:
        raise ServiceError(
            _("No uplift model can be learned from campaign %(name)s: %(error)s")
            % {"name": checked_source.campaign.name, "error": exc},
            field="uplift_source",
        ) from exc
    chosen = segment.filter(targeted.scores.column("targeted"))

    def mean(name: str) -> float | None:
        if name not in chosen.column_names:
            return None
        value = pc.mean(chosen.column(name)).as_py()
        return None if value is None else float(value)

    return UpliftTargets(
        targeted=targeted,
        audience=AudienceFacts(
            customers=chosen.num_rows,
            mean_arpu=mean("arpu_3m"),
            mean_churn_risk=mean("churn_risk"),
            mean_upgrade_propensity=mean("upgrade_5g_propensity"),
        ),
    )


def _campaign_targets(*, campaign: Campaign, snapshot: Snapshot, holdout: bool) -> UpliftTargets:
    return _uplift_targets(
        rule=campaign.segment_version.rule,
        org_unit=campaign.org_unit,
        source=campaign.uplift_source,
        campaign_type=CampaignType(campaign.campaign_type),
        share=campaign.targeting_share,
        snapshot=snapshot,
        seed=campaign.seed,
        holdout=holdout,
    )


def _keep_uplift(*, campaign_id: int, targeted: Targeted) -> None:
    """The model's facts (uplift.json) and every segment customer's score, targeted or not
    (uplift_scores.parquet), next to the frozen audience."""
    folder = campaign_dir(campaign_id)
    write_json(folder / UPLIFT_RECORD, targeted.facts.as_json())
    staging = folder / f"{UPLIFT_SCORES}.tmp"
    pq.write_table(targeted.scores, staging)
    staging.replace(folder / UPLIFT_SCORES)


def uplift_facts(*, campaign: Campaign) -> dict[str, Any] | None:
    """The facts of the model that chose an issued campaign's customers, for its page."""
    if campaign.targeting != Targeting.UPLIFT or not campaign.audience_path:
        return None
    facts = read_json(campaign_dir(campaign.pk) / UPLIFT_RECORD)
    if facts is None:
        return None
    # Percentage points, for the page.
    for name in ("mean_uplift_targeted", "mean_uplift_segment"):
        facts[f"{name}_points"] = round(100 * float(facts[name]), 2)
    return facts


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


@dataclass(frozen=True)
class WarningThresholds:
    """Early warning (预警): from `from_elapsed` of the window on, a unit below `below_pace` of
    its expected pace is flagged."""

    from_elapsed: float = 0.5
    below_pace: float = 0.6

    @property
    def from_elapsed_percent(self) -> str:
        return f"{self.from_elapsed:.0%}"

    @property
    def below_pace_percent(self) -> str:
        return f"{self.below_pace:.0%}"


def warning_thresholds() -> WarningThresholds:
    """The thresholds of settings.QUANWANG_EARLY_WARNING, checked: a typo or an out-of-range
    value stops the first page or command that reads them, loudly."""
    given = getattr(settings, "QUANWANG_EARLY_WARNING", None) or {}
    if not isinstance(given, dict):
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING: expected a JSON object such as "
            '{"from_elapsed": 0.5, "below_pace": 0.6}'
        )
    unknown = sorted(set(given) - {"from_elapsed", "below_pace"})
    if unknown:
        raise ImproperlyConfigured(
            f"QUANWANG_EARLY_WARNING: unknown keys {unknown} (use from_elapsed, below_pace)"
        )
    for key, value in given.items():
        # bool is an int to Python, but a flag where a share belongs is a mistake.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ImproperlyConfigured(
                f"QUANWANG_EARLY_WARNING {key}: expected a number, got {value!r}"
            )
    thresholds = WarningThresholds(**{k: float(v) for k, v in given.items()})
    if not 0.0 <= thresholds.from_elapsed <= 1.0:
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING from_elapsed: a share of the window between 0 and 1, "
            f"got {thresholds.from_elapsed}"
        )
    if not 0.0 < thresholds.below_pace <= 1.0:
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING below_pace: a share of the expected pace above 0 and at "
            f"most 1, got {thresholds.below_pace}"
        )
    return thresholds


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
    #: The account manager whose quota this is (held at `unit`, their org unit); None for a
    #: grid's quota.
    account_manager: Staff | None = None


def execution_progress(*, campaign: Campaign, today: dt.date | None = None) -> list[UnitProgress]:
    """Each quota's unit (or account manager) against its target and the time elapsed, with
    early warnings. An account manager's customers count for them, not for their grid."""
    quotas = list(
        Quota.objects.filter(campaign=campaign).select_related("org_unit", "account_manager")
    )
    if not quotas or not campaign.audience_path:
        return []
    limits = warning_thresholds()
    day = today or timezone.localdate()
    span = max((campaign.ends_on - campaign.starts_on).days, 1)
    elapsed = min(max((day - campaign.starts_on).days / span, 0.0), 1.0)
    table = evaluation_table(campaign=campaign)
    con = duckdb.connect()
    con.register("evaluated", table)
    frozen = sql_literal(campaign.audience_path)
    manager = (
        f"a.{ACCOUNT_MANAGER}"
        if ACCOUNT_MANAGER in pq.read_schema(campaign.audience_path).names
        else "CAST(NULL AS VARCHAR)"
    )
    counts = {
        (grid, employee_no): (int(contacted), int(responders))
        for grid, employee_no, contacted, responders in con.execute(
            f"SELECT CASE WHEN {manager} IS NULL THEN e.grid_id END, {manager}, "
            "count(*) FILTER (WHERE e.contacted), "
            f"count(*) FILTER (WHERE e.responded AND e.\"group\" = '{Group.TREATED}') "
            f"FROM evaluated e JOIN read_parquet({frozen}) a USING (subscriber_id) "
            "GROUP BY 1, 2"
        ).fetchall()
    }
    con.close()
    rows = []
    for quota in quotas:
        key = (
            (None, quota.account_manager.employee_no)
            if quota.account_manager is not None
            else (quota.org_unit.code, None)
        )
        contacted, responders = counts.get(key, (0, 0))
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
                behind=elapsed >= limits.from_elapsed
                and pace is not None
                and pace < limits.below_pace,
                account_manager=quota.account_manager,
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
