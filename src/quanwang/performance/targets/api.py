"""The targets API (/api/v1/performance/targets…): a period's targets in scope with their
progress; set, decompose and change. Refusals and out-of-scope answers go through the API's
global handlers ({detail, field}; 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from quanwang.core.api_schema import BusinessDay, CleanText, ErrorOut, clean_query
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.querysets import has_grant
from quanwang.performance.models.targets import Target
from quanwang.performance.targets.progress import attainments, progress
from quanwang.performance.targets.services import change_target, decompose, set_target
from quanwang.performance.targets.services.common import require_target

router = Router(tags=["performance"])


class TargetProgressOut(Schema):
    id: int
    kpi: str
    period: str
    grain: str
    key: str
    org_unit: str
    parent_id: int | None
    value: float
    locked: bool
    deadline: dt.date
    actual: float | None
    attainment: float | None
    expected: float | None
    pace: float | None
    forecast: float | None
    behind: bool
    days_left: int | None


class TargetSetIn(Schema):
    kpi: CleanText
    period: CleanText
    grain: CleanText = "org_unit"
    key: CleanText
    value: CleanText
    deadline: BusinessDay | None = None
    reason: CleanText = ""


class TargetDecomposeIn(Schema):
    rule: CleanText
    into: CleanText = "units"
    basis_kpi: CleanText | None = None
    manual: dict[CleanText, CleanText] | None = None
    reason: CleanText = ""


class TargetChangeIn(Schema):
    value: CleanText
    absorb: CleanText
    expected_before: CleanText
    reason: CleanText
    sibling: CleanText | None = None


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _guard(request: HttpRequest, action: Action) -> None:
    if not has_grant(_user(request), resource=Resource.TARGET, action=action):
        raise NotFound()


def _out(target: Target, p: Any) -> dict[str, Any]:
    return {
        "id": target.pk,
        "kpi": target.kpi,
        "period": target.period,
        "grain": target.grain,
        "key": target.key,
        "org_unit": target.org_unit.code,
        "parent_id": target.parent_id,
        "value": float(target.value),
        "locked": target.locked,
        "deadline": target.deadline,
        "actual": p.actual_value if p else None,
        "attainment": p.attainment if p else None,
        "expected": p.expected if p else None,
        "pace": p.pace if p else None,
        "forecast": p.forecast if p else None,
        "behind": bool(p and p.behind),
        "days_left": p.days_left if p else None,
    }


@router.get("/targets", response={200: list[TargetProgressOut], 404: ErrorOut})
def list_targets(request: HttpRequest, period: str) -> list[dict[str, Any]]:
    period = clean_query(period, field="period") or ""
    _guard(request, Action.VIEW)
    rows = list(
        Target.objects.restrict(_user(request))
        .filter(period=period)
        .select_related("org_unit")
        .order_by("kpi", "org_unit__path", "grain", "key")[:5000]
    )
    found = attainments(period=period) if rows else {}
    return [_out(t, found.get((t.kpi, t.grain, t.key))) for t in rows]


@router.post("/targets", response={200: TargetProgressOut, 404: ErrorOut, 422: ErrorOut})
def set_target_api(request: HttpRequest, payload: TargetSetIn) -> dict[str, Any]:
    _guard(request, Action.ADD)
    made = set_target(by=_user(request), **payload.dict())
    return _out(made, progress(target=made))


@router.post(
    "/targets/{target_id}/decompose",
    response={200: list[TargetProgressOut], 404: ErrorOut, 422: ErrorOut},
)
def decompose_target_api(
    request: HttpRequest, target_id: int, payload: TargetDecomposeIn
) -> list[dict[str, Any]]:
    _guard(request, Action.CHANGE)
    parent = require_target(_user(request), target_id=target_id, action=Action.CHANGE)
    children = decompose(parent=parent, by=_user(request), **payload.dict())
    return [_out(c, progress(target=c)) for c in children]


@router.post(
    "/targets/{target_id}/change", response={200: TargetProgressOut, 404: ErrorOut, 422: ErrorOut}
)
def change_target_api(
    request: HttpRequest, target_id: int, payload: TargetChangeIn
) -> dict[str, Any]:
    _guard(request, Action.CHANGE)
    target = require_target(_user(request), target_id=target_id, action=Action.CHANGE)
    changed = change_target(target=target, by=_user(request), **payload.dict())
    return _out(changed, progress(target=changed))
