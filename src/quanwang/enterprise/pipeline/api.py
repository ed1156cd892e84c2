"""The pipeline's API under /api/v1/enterprise/: list, create (idempotent: the client's
`idempotency_key`), and move an opportunity's stage. Scoped like the pages: another
manager's opportunity is 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from quanwang.core.api_schema import (
    BigAmount,
    BusinessDay,
    CleanText,
    ErrorOut,
    Percent,
    RecordId,
    checked_id,
    checked_page,
)
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.querysets import has_grant
from quanwang.enterprise.pipeline.choices import OpportunityStage, OpportunityStatus
from quanwang.enterprise.pipeline.services import visible_opportunities
from quanwang.enterprise.pipeline.services.opportunities import NewOpportunity, create_opportunity
from quanwang.enterprise.pipeline.services.stages import move_stage

router = Router(tags=["enterprise"])
PAGE_MAX = 500


class OpportunityOut(Schema):
    id: int
    account_id: int
    enterprise_id: str
    owner_id: int
    title: str
    stage: str
    status: str
    amount_fen: int
    probability: int
    expected_close: dt.date
    product_ids: list[int]
    proposal_file: str
    close_reason: str
    closed_on: dt.date | None


class OpportunityIn(Schema):
    account_id: RecordId
    title: CleanText
    expected_close: BusinessDay
    idempotency_key: CleanText
    amount_fen: BigAmount = 0
    stage: OpportunityStage = OpportunityStage.LEAD
    probability: Percent | None = None
    product_ids: list[RecordId] = []
    proposal: CleanText = ""
    proposal_file: CleanText = ""
    owner_id: RecordId | None = None


class OpportunityStageIn(Schema):
    stage: CleanText
    reason: CleanText = ""
    probability: Percent | None = None


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _out(o: Any) -> dict[str, Any]:
    return {
        "id": o.pk,
        "account_id": o.account_id,
        "enterprise_id": o.account.enterprise_id,
        "owner_id": o.owner_id,
        "title": o.title,
        "stage": o.stage,
        "status": o.status,
        "amount_fen": o.amount_fen,
        "probability": o.probability,
        "expected_close": o.expected_close,
        "product_ids": sorted(p.pk for p in o.products.all()),
        "proposal_file": o.proposal_file,
        "close_reason": o.close_reason,
        "closed_on": o.closed_on,
    }


def _guard(request: HttpRequest, action: Action) -> None:
    # No grant at all answers like a record out of scope (the API's NotFound handler).
    if not has_grant(_user(request), resource=Resource.OPPORTUNITY, action=action):
        raise NotFound()


@router.get("/opportunities", response={200: list[OpportunityOut], 404: ErrorOut})
def list_opportunities(
    request: HttpRequest,
    status: OpportunityStatus | None = None,
    account_id: int | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    _guard(request, Action.VIEW)
    rows = visible_opportunities(user=_user(request)).select_related("account")
    if status:
        rows = rows.filter(status=status)
    account = checked_id(account_id, field="account_id")
    if account is not None:
        rows = rows.filter(account_id=account)
    # A limit out of range is clamped and a negative offset reads from the start, as before;
    # an offset past what a database's OFFSET takes is a 422.
    limit, offset = checked_page(max(1, min(limit, PAGE_MAX)), max(offset, 0), most=PAGE_MAX)
    page = rows.prefetch_related("products").order_by("pk")[offset : offset + limit]
    return [_out(o) for o in page]


@router.post("/opportunities", response={200: OpportunityOut, 201: OpportunityOut, 404: ErrorOut})
def open_opportunity(request: HttpRequest, payload: OpportunityIn) -> Status[dict[str, Any]]:
    _guard(request, Action.ADD)
    opportunity, created = create_opportunity(
        user=_user(request),
        data=NewOpportunity(
            account_id=payload.account_id,
            title=payload.title,
            expected_close=payload.expected_close,
            idempotency_key=payload.idempotency_key,
            amount_fen=payload.amount_fen,
            stage=payload.stage,
            probability=payload.probability,
            product_ids=tuple(payload.product_ids),
            proposal=payload.proposal,
            proposal_file=payload.proposal_file,
            owner_id=payload.owner_id,
        ),
    )
    return Status(201 if created else 200, _out(opportunity))


@router.post("/opportunities/{opportunity_id}/stage", response=OpportunityOut)
def move_opportunity_stage(
    request: HttpRequest, opportunity_id: int, payload: OpportunityStageIn
) -> dict[str, Any]:
    _guard(request, Action.CHANGE)
    found = move_stage(
        user=_user(request),
        opportunity_id=opportunity_id,
        stage=payload.stage,
        reason=payload.reason,
        probability=payload.probability,
    )
    return _out(found)
