"""The stage rules of an opportunity (商机阶段).

Open stages, in order: 线索 → 需求确认 → 方案 → 报价 → 谈判; then 赢单 (won) or 输单 (lost).

- Forward moves may skip stages (a lead may arrive with its needs confirmed); a move back
  needs a reason (a proposal sent back to needs confirmation is a fact worth keeping).
- LOST needs a reason (why we lost is the appraisal's and the next campaign's input).
- WON needs an amount above zero (a won opportunity with no money is a typing error).
- A closed opportunity (won or lost) reopens only with a reason, and only into an open stage:
  WON → LOST (or back) is two facts, so it goes through reopening first.
- A move to the stage it is in changes nothing (a retry or a double click records no move).

Each stage has a default probability (DEFAULT_PROBABILITY); a move sets it, unless the
probability was typed by hand (Opportunity.probability_set), which a move keeps — except into
WON (100) and LOST (0), which are facts, not estimates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.models import Opportunity, OpportunityStageChange
from quanwang.enterprise.pipeline.choices import OpportunityStage, OpportunityStatus

S = OpportunityStage
OPEN_STAGES: tuple[OpportunityStage, ...] = (
    S.LEAD,
    S.QUALIFIED,
    S.PROPOSAL,
    S.QUOTE,
    S.NEGOTIATION,
)
CLOSED_STAGES: tuple[OpportunityStage, ...] = (S.WON, S.LOST)
ORDER = {stage: index for index, stage in enumerate((*OPEN_STAGES, S.WON))}
DEFAULT_PROBABILITY: dict[OpportunityStage, int] = {
    S.LEAD: 10,
    S.QUALIFIED: 20,
    S.PROPOSAL: 40,
    S.QUOTE: 60,
    S.NEGOTIATION: 80,
    S.WON: 100,
    S.LOST: 0,
}
REASON_MAX = 500


def status_of(stage: OpportunityStage | str) -> OpportunityStatus:
    if stage == S.WON:
        return OpportunityStatus.WON
    if stage == S.LOST:
        return OpportunityStatus.LOST
    return OpportunityStatus.OPEN


def check_probability(value: Any, *, field: str = "probability") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ServiceError(_("The probability is a whole number from 0 to 100."), field=field)
    return value


def check_move(
    *, current: OpportunityStage | str, target: OpportunityStage | str, reason: str, amount_fen: int
) -> None:
    """Raise ServiceError (field "stage" or "reason") when the move is not allowed."""
    if target not in S.values:
        raise ServiceError(_("Unknown stage."), field="stage")
    current, target = S(current), S(target)
    if current == target:
        return
    if len(reason) > REASON_MAX:
        raise ServiceError(
            _("The reason is at most %(n)s characters.") % {"n": REASON_MAX}, field="reason"
        )
    if current in CLOSED_STAGES:
        if target in CLOSED_STAGES:
            raise ServiceError(
                _("A closed opportunity is reopened into an open stage first."), field="stage"
            )
        if not reason:
            raise ServiceError(_("Say why the opportunity is reopened."), field="reason")
        return
    if target == S.LOST and not reason:
        raise ServiceError(_("Say why the opportunity was lost."), field="reason")
    if target == S.WON and amount_fen <= 0:
        raise ServiceError(_("A won opportunity needs its amount."), field="amount")
    if target in OPEN_STAGES and ORDER[target] < ORDER[current] and not reason:
        raise ServiceError(_("Say why the opportunity moves back a stage."), field="reason")


def move_stage(
    *,
    user: Any,
    opportunity_id: int,
    stage: OpportunityStage | str,
    reason: str = "",
    probability: int | None = None,
    today: dt.date | None = None,
) -> Opportunity:
    """Move the opportunity to `stage` (with `probability`, or the stage's default unless one
    was typed before), recording who, when and why. Locks the row: two moves at once run one
    after the other, and the second sees the first's stage."""
    from quanwang.enterprise.pipeline.services import visible_opportunities

    reason = (reason or "").strip()
    if probability is not None:
        check_probability(probability)
    with transaction.atomic():
        found = (
            visible_opportunities(user=user, action=Action.CHANGE)
            .select_for_update()
            .filter(pk=opportunity_id)
            .first()
        )
        if found is None:
            raise NotFound
        check_move(current=found.stage, target=stage, reason=reason, amount_fen=found.amount_fen)
        target = S(stage)
        if target == found.stage and (probability is None or probability == found.probability):
            return found
        before = found.stage
        if target in CLOSED_STAGES:
            found.probability = DEFAULT_PROBABILITY[target]
        elif probability is not None:
            found.probability, found.probability_set = probability, True
        elif not found.probability_set:
            found.probability = DEFAULT_PROBABILITY[target]
        found.stage, found.status = target, status_of(target)
        if target in CLOSED_STAGES:
            found.closed_on = today or timezone.localdate()
            found.close_reason = reason
        elif before in CLOSED_STAGES:
            found.closed_on, found.close_reason = None, reason
        found.save()
        OpportunityStageChange.objects.create(
            opportunity=found,
            from_stage=before,
            to_stage=target,
            probability=found.probability,
            reason=reason,
            changed_by=user if getattr(user, "is_authenticated", False) else None,
        )
    return found
