"""Designing a campaign: what the marketer fills in, checked, and its revenue estimate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
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
    Estimate,
    PredictedUplift,
    estimate,
)
from quanwang.campaigns.models import Campaign, CampaignEvent, Offer, SegmentVersion
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
from quanwang.insight.snapshots import Snapshot

S = CampaignState


EDITABLE = frozenset({S.DRAFT})


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
    # Only its own unit's offers and those above it, none retired (checked again, locked, below).
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
        check_usable(org_unit=org_unit, offers=design.offers, lock=True)
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
