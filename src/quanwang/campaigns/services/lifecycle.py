"""A campaign's life (营销案): approval, issuing, running, closing, with a full history.

State machine (who may move it, by permission on the campaign's org unit):

    draft ──submit──▶ submitted ──approve──▶ approved ──issue──▶ issued ──start──▶ running
      ▲                   │                                                          │
      └────revise──── rejected ◀──reject──┘                           close ──▶ closed ──▶ evaluated

Submitting, revising, issuing, starting and closing need CHANGE; approving and rejecting
need APPROVE, and nobody approves or rejects a campaign they created. A campaign whose estimate
expects a loss is submitted only with the submitter's acknowledgement, kept on the history
(CampaignEvent.acknowledged_net) for the approver to see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import pyarrow.compute as pc  # type: ignore[import-untyped]
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import (
    CampaignState,
    CampaignType,
    Targeting,
    TaskSplit,
)
from quanwang.campaigns.estimate import TAKE_RATES, expected_net, loses_money
from quanwang.campaigns.issuing import (
    ACCOUNT_MANAGER,
    account_manager_assignments,
    campaign_dir,
    freeze,
    record_snapshot,
    split_quotas,
)
from quanwang.campaigns.models import Campaign, CampaignEvent
from quanwang.campaigns.segments import audience_expression, checked, newest_snapshot, unit_scope
from quanwang.campaigns.services.access import visible
from quanwang.campaigns.services.evaluating import evaluate_campaign
from quanwang.campaigns.services.targeting import _campaign_targets, _keep_uplift
from quanwang.core.choices import Action
from quanwang.core.errors import ServiceError
from quanwang.core.models import Staff

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


def transition(
    *,
    actor: Any,
    campaign: Campaign,
    move: str,
    comment: str = "",
    today: dt.date | None = None,
    acknowledge_loss: bool = False,
) -> Campaign:
    """Move a campaign along its state machine, recording who, when and why. Submitting one
    whose estimate expects a loss needs `acknowledge_loss`; the expected net then goes on the
    history with the step."""
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
        acknowledged = None
        if move == "submit" and loses_money(locked.estimate):
            # Read under the row lock: the estimate acknowledged is the one submitted.
            if not acknowledge_loss:
                raise ServiceError(
                    _(
                        "The estimate expects this campaign to lose money: confirm that you "
                        "know before submitting it, or change its design or assumptions."
                    ),
                    field="acknowledge_loss",
                )
            acknowledged = Decimal(str(round(expected_net(locked.estimate) or 0, 2)))
        if move == "issue":
            _issue(locked, today=today or timezone.localdate())
        if move == "evaluate":
            evaluate_campaign(campaign=locked)
        previous = locked.state
        locked.state = step.target
        locked.save(update_fields=["state", "audience_path", "audience_size", "updated_at"])
        CampaignEvent.objects.create(
            campaign=locked,
            from_state=previous,
            to_state=step.target,
            actor=actor,
            comment=comment,
            acknowledged_net=acknowledged,
        )
    return locked


def _issue(campaign: Campaign, *, today: dt.date) -> None:
    """Freeze the audience on the newest snapshot and split quotas over the campaign's grids
    (or counties: issuing.split_quotas); split by account manager, each enterprise customer
    whose account manager is a staff member of the campaign's org unit (or below) is frozen
    with them and counts in that manager's quota instead of their grid's."""
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
    split_quotas(campaign=campaign, frozen=frozen, take_rate=take_rate, managers=managers)


def _expected_take_rate(campaign: Campaign) -> float:
    for assumption in campaign.estimate.get("assumptions", []):
        if assumption["name"] == "take_rate_expected":
            return float(assumption["value"])
    return TAKE_RATES[CampaignType(campaign.campaign_type)][1]
