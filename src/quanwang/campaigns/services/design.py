"""Designing a campaign: what the marketer fills in, checked, and its revenue estimate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import (
    CampaignState,
    CampaignType,
    Channel,
    Targeting,
    TaskSplit,
)
from quanwang.campaigns.estimate import (
    AudienceFacts,
    Basis,
    Estimate,
    PredictedUplift,
    PreviousResult,
    estimate,
)
from quanwang.campaigns.models import Campaign, CampaignEvent, Offer, SegmentVersion
from quanwang.campaigns.results import results_file
from quanwang.campaigns.segments import audience_expression, checked, newest_snapshot, unit_scope
from quanwang.campaigns.services.access import visible
from quanwang.campaigns.services.offers import check_usable
from quanwang.campaigns.services.targeting import (
    UpliftTargets,
    _campaign_targets,
    _uplift_source,
    _uplift_targets,
)
from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.insight.choices import CampaignGroup
from quanwang.insight.snapshots import Snapshot

S = CampaignState


# A draft, or one the approver sent back: its design and estimate may still change.
EDITABLE = frozenset({S.DRAFT, S.REJECTED})
# The fewest contacted customers whose take rate replaces a campaign type's default.
MIN_CONTACTED = 30


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
            _("The control group is between 1 and 50 percent of the audience."),
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
                _("The share to target by uplift is between 1 and 100 percent of the segment."),
                field="targeting_share",
            )
        _uplift_source(design.uplift_source, campaign_type=design.campaign_type)


def _prepared(
    *, actor: Any, org_unit: OrgUnit, design: Design, today: dt.date | None
) -> tuple[Snapshot, UpliftTargets | None]:
    """The design checked, on the newest snapshot; targeted by uplift, its model fitted (before
    any transaction: a model takes seconds, and a row lock should not)."""
    _check_design(design, today=today or timezone.localdate())
    # Only its own unit's offers and those above it, none retired (checked again, locked, by
    # the caller).
    check_usable(org_unit=org_unit, offers=design.offers)
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
    return snapshot, targets


def _designed(campaign: Campaign, design: Design) -> None:
    """Write `design` on the campaign's fields (the offers are set after it is saved)."""
    campaign.name = design.name
    campaign.campaign_type = design.campaign_type
    campaign.hypothesis = design.hypothesis
    campaign.objective_metric = design.objective_metric
    campaign.objective_target = design.objective_target
    campaign.objective_deadline = design.objective_deadline
    campaign.segment_version = design.segment_version
    campaign.channels = [str(c) for c in design.channels]
    campaign.starts_on = design.starts_on
    campaign.ends_on = design.ends_on
    campaign.budget = design.budget
    campaign.control_share = design.control_share
    campaign.seed = design.seed
    campaign.targeting = design.targeting
    campaign.targeting_share = design.targeting_share
    campaign.uplift_source = design.uplift_source if design.targeting == Targeting.UPLIFT else None
    campaign.task_split = design.task_split


def create_campaign(
    *, actor: Any, org_unit: OrgUnit, design: Design, today: dt.date | None = None
) -> Campaign:
    """A draft campaign with its first revenue estimate."""
    if actor is not None and not has_grant(
        actor, resource=Campaign.scope_resource, action=Action.ADD
    ):
        raise ServiceError(_("You may not design campaigns."))
    snapshot, targets = _prepared(actor=actor, org_unit=org_unit, design=design, today=today)
    with transaction.atomic():
        check_usable(org_unit=org_unit, offers=design.offers, lock=True)
        campaign = Campaign(org_unit=org_unit, created_by=actor)
        _designed(campaign, design)
        campaign.save()
        campaign.offers.set(design.offers)
        campaign.estimate = revenue_estimate(
            campaign=campaign, snapshot=snapshot, targets=targets
        ).as_json()
        campaign.save(update_fields=["estimate"])
        CampaignEvent.objects.create(
            campaign=campaign, from_state="", to_state=S.DRAFT, actor=actor, comment=_("Created")
        )
    return campaign


def preview_estimate(
    *, actor: Any, org_unit: OrgUnit, design: Design, campaign: Campaign | None = None
) -> Estimate:
    """The estimate a design would get, checked as if saved but saving nothing: for the form,
    before the draft is created (or, given `campaign`, before its edit is saved, with the
    assumptions a user typed into it)."""
    if campaign is not None and not visible(actor, Action.CHANGE).filter(pk=campaign.pk).exists():
        raise NotFound()
    if (
        campaign is None
        and actor is not None
        and not has_grant(actor, resource=Campaign.scope_resource, action=Action.ADD)
    ):
        raise ServiceError(_("You may not design campaigns."))
    snapshot, targets = _prepared(actor=actor, org_unit=org_unit, design=design, today=None)
    draft = Campaign(org_unit=org_unit, pk=campaign.pk if campaign is not None else None)
    _designed(draft, design)
    return revenue_estimate(
        campaign=draft,
        snapshot=snapshot,
        overrides=overrides_of(campaign) if campaign is not None else None,
        targets=targets,
        offers=list(design.offers),
    )


def overrides_of(campaign: Campaign) -> dict[str, float]:
    """The assumptions a user typed into the campaign's estimate: kept when it is recomputed."""
    return {
        a["name"]: float(a["value"])
        for a in (campaign.estimate or {}).get("assumptions", [])
        if a.get("basis") == Basis.OVERRIDE or a.get("source") == "override"
    }


def change_campaign(
    *, actor: Any, campaign: Campaign, design: Design, today: dt.date | None = None
) -> Campaign:
    """Save an edited design of a draft (or rejected) campaign and recompute its estimate,
    keeping the assumptions a user typed in. NotFound for one the actor may not change."""
    if not visible(actor, Action.CHANGE).filter(pk=campaign.pk).exists():
        raise NotFound()
    check_editable(campaign)
    snapshot, targets = _prepared(
        actor=actor, org_unit=campaign.org_unit, design=design, today=today
    )
    with transaction.atomic():
        locked = visible(actor, Action.CHANGE).select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise NotFound()
        check_editable(locked)  # it may have been submitted since the form was opened
        check_usable(org_unit=locked.org_unit, offers=design.offers, lock=True)
        overrides = overrides_of(locked)
        _designed(locked, design)
        locked.save()
        locked.offers.set(design.offers)
        locked.estimate = revenue_estimate(
            campaign=locked, snapshot=snapshot, overrides=overrides, targets=targets
        ).as_json()
        locked.save(update_fields=["estimate", "updated_at"])
        CampaignEvent.objects.create(
            campaign=locked,
            from_state=locked.state,
            to_state=locked.state,
            actor=actor,
            comment=_("Design changed"),
        )
    return locked


def check_editable(campaign: Campaign) -> None:
    """Refuse a change to a campaign past its draft (or sent back) state."""
    if campaign.state not in EDITABLE:
        raise ServiceError(
            _(
                "This campaign is %(state)s: only a draft, or one sent back by the approver, "
                "can be changed."
            )
            % {"state": S(campaign.state).label}
        )


def previous_result(*, campaign: Campaign) -> PreviousResult | None:
    """What the newest evaluated campaign of the same type in the campaign's line of units (its
    own unit, those above and those below) measured: the share of its contacted treated
    customers who took the offer. None without one that contacted enough customers."""
    unit = campaign.org_unit
    candidates = (
        Campaign.objects.filter(state=S.EVALUATED, campaign_type=campaign.campaign_type)
        .filter(
            Q(org_unit__path__startswith=unit.path)
            | Q(org_unit__path__in=_path_prefixes(unit.path))
        )
        .exclude(pk=campaign.pk)
        .order_by("-updated_at", "-pk")
        .values_list("pk", flat=True)[:5]
    )
    for pk in candidates:
        measured = _measured_take_rate(pk)
        if measured is not None:
            return measured
    return None


def _path_prefixes(path: str) -> list[str]:
    """ "/GD/GZ/TH/" → ["/GD/", "/GD/GZ/", "/GD/GZ/TH/"]."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: n + 1]) + "/" for n in range(len(parts))]


def _measured_take_rate(campaign_id: int) -> PreviousResult | None:
    path = results_file(campaign_id)
    if not path.exists():
        return None
    try:
        table = pq.read_table(path, columns=["group", "contacted", "responded"])
    except (OSError, KeyError, pa.ArrowInvalid):
        return None  # an older results file without the contacted column
    reached = pc.and_(
        pc.equal(table.column("group"), CampaignGroup.TREATED.value),
        pc.fill_null(table.column("contacted"), False),
    )
    contacted = int(pc.sum(reached).as_py() or 0)
    if contacted < MIN_CONTACTED:
        return None
    took = pc.and_(reached, pc.fill_null(table.column("responded"), False))
    takers = int(pc.sum(took).as_py() or 0)
    return PreviousResult(
        campaign_id=campaign_id, take_rate=takers / contacted, contacted=contacted
    )


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
    offers: list[Offer] | None = None,
) -> Estimate:
    """The estimate of the campaign's audience; targeted by uplift, of the customers the
    model keeps, with the incremental takers it predicts (`targets`, fitted when not given).
    `offers` stand for the campaign's own, for one not saved yet."""
    offers = list(campaign.offers.all()) if offers is None else offers
    uplift = None
    if campaign.targeting == Targeting.UPLIFT:
        chosen = targets or _campaign_targets(campaign=campaign, snapshot=snapshot, holdout=False)
        audience = chosen.audience
        facts = chosen.targeted.facts
        uplift = PredictedUplift(
            mean=facts.mean_uplift_targeted,
            source=f"mean predicted uplift of the {facts.targeted} targeted customers "
            f"({facts.learner} on campaign #{facts.source_campaign}'s results)",
            targeted=facts.targeted,
            source_campaign=facts.source_campaign,
        )
    else:
        audience = audience_facts(campaign=campaign, snapshot=snapshot)
    previous = None if uplift is not None else previous_result(campaign=campaign)
    return estimate(
        campaign_type=CampaignType(campaign.campaign_type),
        audience=audience,
        control_share=float(campaign.control_share),
        channels=[Channel(c) for c in campaign.channels],
        offer_cost_per_taker=float(sum(o.cost_per_taker for o in offers)),
        offer_monthly_revenue_change=float(sum(o.monthly_revenue_change for o in offers)),
        overrides=overrides,
        uplift=uplift,
        previous=previous,
    )


def update_estimate(*, actor: Any, campaign: Campaign, overrides: dict[str, float]) -> Campaign:
    """Recompute the estimate with the marketer's own assumptions (draft or rejected campaigns
    only)."""
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
        check_editable(locked)
        locked.estimate = revenue_estimate(
            campaign=locked, snapshot=snapshot, overrides=overrides, targets=targets
        ).as_json()
        locked.save(update_fields=["estimate", "updated_at"])
    return locked
