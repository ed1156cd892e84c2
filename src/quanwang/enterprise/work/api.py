"""The work part's API under /api/v1/enterprise/: the visits due, logging a visit (idempotent:
the client's `idempotency_key`) and a manager's appraisal facts for a month. Scoped like the
pages: another scope's account or manager is 404."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status

from quanwang.core.api_schema import BusinessDay, CleanText, ErrorOut, RecordId
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.querysets import has_grant
from quanwang.enterprise.work.services import appraisal, plan, visit_log
from quanwang.enterprise.work.services.portfolio import portfolio_staff

router = Router(tags=["enterprise"])


class DueOut(Schema):
    account_id: int
    enterprise_id: str
    name: str
    grade: str
    interval_days: int
    last_visited_on: dt.date | None
    due_on: dt.date
    days_overdue: int
    reason: str
    next_step: str


class VisitIn(Schema):
    account_id: RecordId
    idempotency_key: uuid.UUID
    purpose: CleanText
    outcome: CleanText
    visited_on: BusinessDay | None = None
    next_step: CleanText = ""
    follow_up_on: BusinessDay | None = None
    persons_met: list[RecordId] = []


class VisitOut(Schema):
    id: int
    account_id: int
    visitor_id: int
    visited_on: dt.date
    purpose: str
    outcome: str
    next_step: str
    follow_up_on: dt.date | None
    persons_met: list[int]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _guard(request: HttpRequest, resource: Resource, action: Action) -> None:
    # No grant at all answers like a record out of scope (the API's NotFound handler).
    if not has_grant(_user(request), resource=resource, action=action):
        raise NotFound()


@router.get("/visits/due", response={200: list[DueOut], 404: ErrorOut})
def enterprise_visits_due(
    request: HttpRequest,
    # Bounded: the due days are worked out by adding intervals to it (a 9999-12-31 from a
    # fuzzer overflowed into a 500).
    on: Annotated[dt.date | None, Query(ge=dt.date(2000, 1, 1), le=dt.date(2099, 12, 31))] = None,
) -> list[dict[str, Any]]:
    _guard(request, Resource.ENTERPRISE_VISIT, Action.VIEW)
    found = plan.visits_due(user=_user(request), on=on or timezone.localdate(), limit=500)
    return [
        {
            "account_id": d.account.pk,
            "enterprise_id": d.account.enterprise_id,
            "name": d.account.name,
            "grade": d.grade,
            "interval_days": d.interval_days,
            "last_visited_on": d.last_visited_on,
            "due_on": d.due_on,
            "days_overdue": d.days_overdue,
            "reason": d.reason.value,
            "next_step": d.next_step,
        }
        for d in found
    ]


@router.post("/visits", response={200: VisitOut, 201: VisitOut, 404: ErrorOut})
def log_enterprise_visit(request: HttpRequest, payload: VisitIn) -> Status[dict[str, Any]]:
    _guard(request, Resource.ENTERPRISE_VISIT, Action.ADD)
    logged = visit_log.log_visit(
        user=_user(request),
        account_pk=payload.account_id,
        data=visit_log.VisitInput(
            visited_on=payload.visited_on or timezone.localdate(),
            purpose=payload.purpose,
            outcome=payload.outcome,
            next_step=payload.next_step,
            follow_up_on=payload.follow_up_on,
            persons_met=tuple(payload.persons_met),
        ),
        idempotency_key=payload.idempotency_key,
    )
    v = logged.visit
    return Status(
        201 if logged.created else 200,
        {
            "id": v.pk,
            "account_id": v.account_id,
            "visitor_id": v.visitor_id,
            "visited_on": v.visited_on,
            "purpose": v.purpose,
            "outcome": v.outcome,
            "next_step": v.next_step,
            "follow_up_on": v.follow_up_on,
            "persons_met": sorted(v.persons_met.values_list("pk", flat=True)),
        },
    )


@router.get("/managers/{staff_id}/appraisal")
def manager_appraisal(request: HttpRequest, staff_id: int, month: str) -> dict[str, Any]:
    _guard(request, Resource.ENTERPRISE_ACCOUNT, Action.VIEW)
    staff = portfolio_staff(user=_user(request)).filter(pk=staff_id).first()
    if staff is None:
        raise NotFound()
    return appraisal.appraisal_facts(staff=staff, month=month)
