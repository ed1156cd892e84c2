"""The incentives API (/api/v1/performance/incentives/…): a month's statements in reach, one
statement with its lines, and approving one. Narrowed exactly like the pages
(statements.visible: a unit's readers their subtree's, a staff member (Reach.OWN) their own);
anything else is 404 through the API's global handlers, refusals 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from quanwang.core.api_schema import ErrorOut, clean_query
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.querysets import has_grant
from quanwang.performance.incentives.services import statements
from quanwang.performance.models import IncentiveStatement

router = Router(tags=["performance"])

#: The most statements one list answer carries (a city's month is a few hundred).
LIST_LIMIT = 5000


class IncentiveStatementOut(Schema):
    id: int
    month: str
    employee_no: str
    staff_name: str
    org_unit: str
    role_kind: str
    status: str
    rule_set_id: int
    rule_version: int
    actuals_version: str
    as_of: dt.date
    snapshot: str
    fingerprint: str
    line_count: int
    total: str
    adjustment_total: str
    deduction_total: str
    computed_at: dt.datetime
    approved_at: dt.datetime | None


class IncentiveLineOut(Schema):
    line_no: int
    kind: str
    for_month: str
    kpi: str
    grain: str
    key: str
    period: str
    quantity: str | None
    rate: str | None
    share: str | None
    base: str | None
    paid_before: str | None
    amount: str


class IncentiveStatementDetailOut(IncentiveStatementOut):
    lines: list[IncentiveLineOut]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _guard(request: HttpRequest, action: Action) -> None:
    # No grant at all answers like a record out of scope (the API's NotFound handler).
    if not has_grant(_user(request), resource=Resource.INCENTIVE, action=action):
        raise NotFound()


def _text(value: Any) -> str | None:
    # Decimals as exact text: money is never a float.
    return None if value is None else f"{value:f}"


def _out(statement: IncentiveStatement) -> dict[str, Any]:
    return {
        "id": statement.pk,
        "month": statement.month,
        "employee_no": statement.staff.employee_no,
        "staff_name": statement.staff.name,
        "org_unit": statement.org_unit.code,
        "role_kind": statement.role_kind,
        "status": statement.status,
        "rule_set_id": statement.rule_set_id,
        "rule_version": statement.rule_set.version,
        "actuals_version": statement.actuals_version,
        "as_of": statement.as_of,
        "snapshot": statement.snapshot,
        "fingerprint": statement.fingerprint,
        "line_count": statement.line_count,
        "total": _text(statement.total),
        "adjustment_total": _text(statement.adjustment_total),
        "deduction_total": _text(statement.deduction_total),
        "computed_at": statement.computed_at,
        "approved_at": statement.approved_at,
    }


def _detail(statement: IncentiveStatement) -> dict[str, Any]:
    lines = [
        {
            "line_no": line.line_no,
            "kind": line.kind,
            "for_month": line.for_month,
            "kpi": line.kpi,
            "grain": line.grain,
            "key": line.key,
            "period": line.period,
            "quantity": _text(line.quantity),
            "rate": _text(line.rate),
            "share": _text(line.share),
            "base": _text(line.base),
            "paid_before": _text(line.paid_before),
            "amount": _text(line.amount),
        }
        for line in statement.lines.order_by("line_no")
    ]
    return {**_out(statement), "lines": lines}


@router.get(
    "/incentives/statements",
    response={200: list[IncentiveStatementOut], 404: ErrorOut, 422: ErrorOut},
)
def list_incentive_statements(request: HttpRequest, month: str = "") -> list[dict[str, Any]]:
    month = clean_query(month, field="month") or ""
    """The statements in reach of `month` (YYYY-MM), or of the newest month when none is given."""
    _guard(request, Action.VIEW)
    user = _user(request)
    if month.strip():
        chosen = statements.parse_month(month).code
    else:
        months = statements.months_of(user)
        if not months:
            return []
        chosen = months[0]
    found = (
        statements.visible(user)
        .filter(month=chosen)
        .order_by("org_unit__path", "staff__employee_no")[:LIST_LIMIT]
    )
    return [_out(s) for s in found]


@router.get(
    "/incentives/statements/{statement_id}",
    response={200: IncentiveStatementDetailOut, 404: ErrorOut},
)
def get_incentive_statement(request: HttpRequest, statement_id: int) -> dict[str, Any]:
    _guard(request, Action.VIEW)
    return _detail(statements.get_statement(user=_user(request), pk=statement_id))


@router.post(
    "/incentives/statements/{statement_id}/approve",
    response={200: IncentiveStatementOut, 404: ErrorOut, 422: ErrorOut},
)
def approve_incentive_statement(request: HttpRequest, statement_id: int) -> dict[str, Any]:
    """Approve (freeze) one statement; approving it again changes nothing (a double submit).
    Refused (422) for the caller's own statement and for one the caller computed."""
    _guard(request, Action.APPROVE)
    user = _user(request)
    found = statements.get_statement(user=user, pk=statement_id, action=Action.APPROVE)
    statements.approve_statements(actor=user, month=found.month, statement_ids=[found.pk])
    return _out(statements.get_statement(user=user, pk=found.pk, action=Action.APPROVE))
