"""Creating an opportunity (商机) on an account, from a solution proposal or a lead.

The account must be one the user may add opportunities to (Resource.OPPORTUNITY, ADD): an
account manager's own accounts, a unit's accounts for those above. The request key makes a
double click, a retry or an API client's replay create one opportunity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Staff
from quanwang.enterprise.accounts.services.read import reachable_accounts
from quanwang.enterprise.choices import AccountStatus
from quanwang.enterprise.models import Account, IndustryProduct, Opportunity, OpportunityStageChange
from quanwang.enterprise.pipeline.choices import OpportunityStage
from quanwang.enterprise.pipeline.services.stages import (
    CLOSED_STAGES,
    DEFAULT_PROBABILITY,
    check_probability,
    status_of,
)

TITLE_MAX = 200
PROPOSAL_MAX = 20_000
KEY_MAX = 64
# 10 亿元 in fen: more than any one enterprise deal; a larger figure is a typing error.
AMOUNT_MAX_FEN = 100_000_000_000


@dataclass(frozen=True)
class NewOpportunity:
    account_id: int
    title: str
    expected_close: dt.date
    idempotency_key: str
    amount_fen: int = 0
    stage: OpportunityStage = OpportunityStage.LEAD
    probability: int | None = None
    product_ids: tuple[int, ...] = field(default_factory=tuple)
    proposal: str = ""
    proposal_file: str = ""
    owner_id: int | None = None


def accounts_for_opportunities(*, user: Any, action: Action = Action.ADD) -> Any:
    """The accounts `user` may `action` opportunities on (scoped like the opportunities)."""
    reached = reachable_accounts(user, resource=Resource.OPPORTUNITY, action=action)
    return reached.exclude(status=AccountStatus.MERGED)


def _check(data: NewOpportunity) -> None:
    if not data.title.strip():
        raise ServiceError(_("Give the opportunity a title."), field="title")
    if len(data.title) > TITLE_MAX:
        raise ServiceError(
            _("The title is at most %(n)s characters.") % {"n": TITLE_MAX}, field="title"
        )
    if not data.idempotency_key or len(data.idempotency_key) > KEY_MAX:
        raise ServiceError(
            _("The request key is 1 to %(n)s characters.") % {"n": KEY_MAX},
            field="idempotency_key",
        )
    if isinstance(data.amount_fen, bool) or not 0 <= data.amount_fen <= AMOUNT_MAX_FEN:
        raise ServiceError(_("The amount is from 0 to 1,000,000,000 yuan."), field="amount")
    if data.stage not in OpportunityStage.values:
        raise ServiceError(_("Unknown stage."), field="stage")
    if data.stage in CLOSED_STAGES:
        raise ServiceError(_("A new opportunity starts in an open stage."), field="stage")
    if data.probability is not None:
        check_probability(data.probability)
    if len(data.proposal) > PROPOSAL_MAX:
        raise ServiceError(
            _("The proposal is at most %(n)s characters.") % {"n": PROPOSAL_MAX},
            field="proposal",
        )
    if len(data.proposal_file) > TITLE_MAX:
        raise ServiceError(
            _("The attachment name is at most %(n)s characters.") % {"n": TITLE_MAX},
            field="proposal_file",
        )


def _products(ids: Iterable[int]) -> list[IndustryProduct]:
    wanted = set(ids)
    found = list(IndustryProduct.objects.filter(pk__in=wanted, active=True))
    if len(found) != len(wanted):
        raise ServiceError(_("A product is unknown or no longer offered."), field="products")
    return found


def _owner(*, user: Any, account: Account, owner_id: int | None) -> Staff:
    """The owner named, who must be on the account's team; else the user's own staff record;
    else the account's lead manager."""
    if owner_id is not None:
        staff = Staff.objects.filter(pk=owner_id, account_teams__account=account).first()
        if staff is None:
            raise ServiceError(_("The owner must be on the account's team."), field="owner")
        return staff
    own = Staff.objects.filter(user__pk=user.pk).first() if user is not None else None
    if own is not None:
        return own
    if account.account_manager_id is not None:
        return Staff.objects.get(pk=account.account_manager_id)
    raise ServiceError(_("Name the opportunity's owner."), field="owner")


def create_opportunity(*, user: Any, data: NewOpportunity) -> tuple[Opportunity, bool]:
    """(The opportunity, whether it was created now). A second call with the same key by the
    same user returns the first one unchanged."""
    _check(data)
    created_by = user if getattr(user, "is_authenticated", False) else None
    if created_by is not None:
        earlier = Opportunity.objects.filter(
            created_by=created_by, idempotency_key=data.idempotency_key
        ).first()
        if earlier is not None:
            return earlier, False
    account = accounts_for_opportunities(user=user).filter(pk=data.account_id).first()
    if account is None:
        raise NotFound
    products = _products(data.product_ids)
    owner = _owner(user=user, account=account, owner_id=data.owner_id)
    stage = OpportunityStage(data.stage)
    probability = data.probability if data.probability is not None else DEFAULT_PROBABILITY[stage]
    try:
        with transaction.atomic():
            opportunity = Opportunity.objects.create(
                account=account,
                owner=owner,
                title=data.title.strip(),
                stage=stage,
                status=status_of(stage),
                amount_fen=data.amount_fen,
                probability=probability,
                probability_set=data.probability is not None,
                expected_close=data.expected_close,
                proposal=data.proposal,
                proposal_file=data.proposal_file.strip(),
                idempotency_key=data.idempotency_key,
                created_by=created_by,
            )
            opportunity.products.set(products)
            OpportunityStageChange.objects.create(
                opportunity=opportunity,
                to_stage=stage,
                probability=probability,
                changed_by=created_by,
            )
    except IntegrityError:
        # The same key at the same moment (two clicks): the other request created it.
        earlier = Opportunity.objects.filter(
            created_by=created_by, idempotency_key=data.idempotency_key
        ).first()
        if earlier is None:
            raise
        return earlier, False
    return opportunity, True
