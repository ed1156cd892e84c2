"""REST endpoints of the store file under /api/v1/channels: the list (the console's filter),
a store with its grades, its stage decision and the audited reveal of its contact, the grading
rule sets, the re-grade job and the coverage view. Thin: restrict, call a service, serialise.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from quanwang.channels.choices import GradingCriterion, PartnerStage, SalesMeasure
from quanwang.channels.models import StoreGrading
from quanwang.channels.stores import coverage as coverage_service
from quanwang.channels.stores.filtersets import StoreFilterSet
from quanwang.channels.stores.grading import Rules
from quanwang.channels.stores.jobs import start_regrade
from quanwang.channels.stores.rules import save_rule_set, visible_rule_sets
from quanwang.channels.stores.services import (
    REASON_MAX_LENGTH,
    change_stage,
    find_store,
    reveal_contact,
    visible_stores,
)
from quanwang.core.api_schema import BoundedPagination, CleanText, ErrorOut, clean_query
from quanwang.core.choices import Action, PiiKind, Reach, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.masking import mask
from quanwang.core.querysets import has_grant
from quanwang.core.services.audit import REASON_MAX_LENGTH as REVEAL_REASON_MAX

router = Router(tags=["channels"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class StoreOut(Schema):
    store_id: str
    name: str
    store_type: str
    grade: str
    partner_stage: str
    org_unit_code: str = Field(alias="org_unit.code")
    grid_id: str
    lat: float | None
    lon: float | None
    owner_masked: str
    contact_masked: str
    opened_date: dt.date | None
    active: bool

    @staticmethod
    def resolve_owner_masked(obj: Any) -> str:
        return mask(obj.owner_name, PiiKind.NAME)

    @staticmethod
    def resolve_contact_masked(obj: Any) -> str:
        return mask(obj.contact_msisdn, PiiKind.MSISDN)


class GradingOut(Schema):
    month: str
    grade: str
    previous_grade: str
    score: float
    rule_set_version: int = Field(alias="rule_set.version")
    criteria: dict[str, Any]
    cutoffs: dict[str, Any]


class StoreDetailOut(StoreOut):
    # The newest months' grades with their reasons (views set it on the store).
    gradings: list[GradingOut] = Field(alias="recent_gradings")


class StageIn(Schema):
    stage: PartnerStage
    reason: CleanText = Field(min_length=1, max_length=REASON_MAX_LENGTH)


class StageOut(Schema):
    store_id: str
    from_stage: str
    to_stage: str
    suggested_stage: str
    reason: str
    changed_at: dt.datetime


class StoreRevealIn(Schema):
    reason: CleanText = Field(min_length=1, max_length=REVEAL_REASON_MAX)


class StoreRevealOut(Schema):
    store_id: str
    owner_name: str
    contact_msisdn: str


class RuleSetIn(Schema):
    sales_measure: SalesMeasure = SalesMeasure.REVENUE
    weight_sales: int
    weight_footfall: int
    weight_conversion: int
    weight_location: int
    weight_growth: int
    key_min: int
    anchor_min: int
    location_points: dict[str, int]
    location_default: int = 30
    growth_months: int = 3
    note: CleanText = Field(default="", max_length=300)


class RuleSetOut(Schema):
    version: int
    sales_measure: str
    weight_sales: int
    weight_footfall: int
    weight_conversion: int
    weight_location: int
    weight_growth: int
    key_min: int
    anchor_min: int
    location_points: dict[str, int]
    location_default: int
    growth_months: int
    note: str
    created_at: dt.datetime


class RegradeIn(Schema):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")


class JobStartedOut(Schema):
    job_id: int
    status: str


class GridCoverageOut(Schema):
    grid: str
    county: str
    grid_type: str
    have: dict[str, int]
    want: dict[str, int]
    short: int


@router.get("/channels/stores", response=list[StoreOut])
@paginate(BoundedPagination)
def list_stores(request: HttpRequest) -> Any:
    queryset = visible_stores(_user(request)).select_related("org_unit")
    filterset = StoreFilterSet(request.GET, queryset=queryset)
    if not filterset.is_valid():
        field, problems = next(iter(filterset.errors.items()))
        raise ServiceError(f"{field}: {problems[0]}", field=field)
    return filterset.qs


@router.get("/channels/stores/{store_id}", response=StoreDetailOut)
def get_store(request: HttpRequest, store_id: str) -> Any:
    user = _user(request)
    store = find_store(user=user, store_id=store_id)
    store.recent_gradings = list(  # type: ignore[attr-defined]
        StoreGrading.objects.restrict(user)
        .filter(store=store)
        .select_related("rule_set")
        .order_by("-month")[:24]
    )
    return store


@router.post("/channels/stores/{store_id}/stage", response=StageOut)
def set_stage(request: HttpRequest, store_id: str, payload: StageIn) -> dict[str, Any]:
    change = change_stage(
        actor=_user(request), store_id=store_id, stage=payload.stage, reason=payload.reason
    )
    return {
        "store_id": store_id,
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "suggested_stage": change.suggested_stage,
        "reason": change.reason,
        "changed_at": change.changed_at,
    }


@router.post("/channels/stores/{store_id}/reveal", response=StoreRevealOut)
def reveal_store_contact(
    request: HttpRequest, store_id: str, payload: StoreRevealIn
) -> dict[str, Any]:
    full = reveal_contact(
        actor=_user(request),
        store_id=store_id,
        reason=payload.reason,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    return {"store_id": store_id, **full}


@router.get("/channels/grading-rules", response=list[RuleSetOut])
def list_rule_sets(request: HttpRequest) -> Any:
    return list(visible_rule_sets(_user(request))[:50])


# A role without the grant to change the rules (or to re-grade, or to read coverage) gets 404,
# as for a record outside its scope: listed here, since these paths name no record.
@router.post("/channels/grading-rules", response={201: RuleSetOut, 404: ErrorOut})
def create_rule_set(request: HttpRequest, payload: RuleSetIn) -> Status[Any]:
    rules = Rules(
        weights={c: getattr(payload, f"weight_{c}") for c in GradingCriterion},
        key_min=payload.key_min,
        anchor_min=payload.anchor_min,
        sales_measure=payload.sales_measure,
        location_points=payload.location_points,
        location_default=payload.location_default,
        growth_months=payload.growth_months,
    )
    return Status(201, save_rule_set(actor=_user(request), rules=rules, note=payload.note))


@router.post("/channels/regrade", response={202: JobStartedOut, 404: ErrorOut})
def regrade_stores(request: HttpRequest, payload: RegradeIn) -> Status[dict[str, Any]]:
    job = start_regrade(actor=_user(request), month=payload.month)
    return Status(202, {"job_id": job.pk, "status": job.status})


@router.get("/channels/store-coverage", response={200: list[GridCoverageOut], 404: ErrorOut})
@paginate(BoundedPagination)
def store_coverage(request: HttpRequest, county: str | None = None) -> Any:
    county = clean_query(county, field="county")
    user = _user(request)
    if not has_grant(user, resource=Resource.STORE, action=Action.VIEW, only=Reach.SUBTREE):
        raise NotFound()
    rows = []
    for county_row in coverage_service.coverage(user=user, county=county):
        for grid in county_row.grids:
            rows.append(
                {
                    "grid": grid.unit.code,
                    "county": county_row.unit.code if county_row.unit else "",
                    "grid_type": grid.grid_type,
                    "have": {str(c.grade): c.have for c in grid.counts},
                    "want": {str(c.grade): c.want for c in grid.counts},
                    "short": grid.short,
                }
            )
    return rows
