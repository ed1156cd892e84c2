"""REST endpoints of the core app under /api/v1. Thin: restrict, call a service, serialise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from quanwang.core.api_schema import BoundedPagination, CleanText, ErrorOut
from quanwang.core.choices import Action, OrgLevel, PiiKind
from quanwang.core.errors import ServiceError
from quanwang.core.filtersets import (
    AuditRecordFilterSet,
    JobFilterSet,
    OrgUnitFilterSet,
    StaffFilterSet,
)
from quanwang.core.masking import mask
from quanwang.core.models import AuditRecord, Job, OrgUnit, RoleAssignment, Staff
from quanwang.core.services import jobs as job_services
from quanwang.core.services import orgs as org_services
from quanwang.core.services import staff as staff_services
from quanwang.core.services.audit import REASON_MAX_LENGTH

router = Router(tags=["core"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _filtered(request: HttpRequest, filterset_class: Any, queryset: QuerySet[Any]) -> Any:
    filterset = filterset_class(request.GET, queryset=queryset)
    if not filterset.is_valid():
        field, messages = next(iter(filterset.errors.items()))
        raise ServiceError(f"{field}: {messages[0]}", field=field)
    return filterset.qs


class AssignmentOut(Schema):
    id: int
    role: str
    org_unit_code: str = Field(alias="org_unit.code")
    org_unit_name: str = Field(alias="org_unit.name")


class MeOut(Schema):
    username: str
    assignments: list[AssignmentOut]


class OrgUnitOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    level: OrgLevel
    parent_id: int | None
    path: str


class OrgUnitIn(Schema):
    parent_id: int
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: CleanText = Field(min_length=1, max_length=100)
    name_en: CleanText = Field(default="", max_length=100)
    level: OrgLevel


class OrgUnitPatch(Schema):
    name: CleanText = Field(min_length=1, max_length=100)
    name_en: CleanText = Field(default="", max_length=100)


class StaffOut(Schema):
    id: int
    employee_no: str
    name: str
    mobile_masked: str
    title: str
    org_unit_code: str


class RevealIn(Schema):
    reason: CleanText = Field(min_length=1, max_length=REASON_MAX_LENGTH)


class RevealOut(Schema):
    id: int
    mobile: str


class JobOut(Schema):
    id: int
    kind: str
    status: str
    stage: str
    done: int
    total: int | None
    percent: int | None
    error: str
    messages: list[str]
    result: dict[str, Any] | None
    attempts: int
    org_unit_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None


class AuditRecordOut(Schema):
    id: int
    actor_username: str
    action: str
    target_type: str
    target_id: str
    target_repr: str
    org_unit_code: str = Field(alias="org_unit.code")
    reason: str
    ip_address: str | None
    created_at: datetime


def _staff_out(member: Staff) -> StaffOut:
    return StaffOut(
        id=member.pk,
        employee_no=member.employee_no,
        name=member.name,
        mobile_masked=mask(member.mobile, PiiKind.MSISDN),
        title=member.title,
        org_unit_code=member.org_unit.code,
    )


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    assignments = RoleAssignment.objects.filter(user=user).select_related("org_unit")
    return {"username": user.username, "assignments": list(assignments)}


@router.get("/org-units", response=list[OrgUnitOut])
@paginate(BoundedPagination)
def list_org_units(request: HttpRequest) -> Any:
    return _filtered(request, OrgUnitFilterSet, OrgUnit.objects.restrict(_user(request)))


@router.get("/org-units/{unit_id}", response=OrgUnitOut)
def get_org_unit(request: HttpRequest, unit_id: int) -> OrgUnit:
    return get_object_or_404(OrgUnit.objects.restrict(_user(request)), pk=unit_id)


@router.post("/org-units", response={201: OrgUnitOut, 404: ErrorOut})
def create_org_unit(request: HttpRequest, payload: OrgUnitIn) -> Status[OrgUnit]:
    user = _user(request)
    parent = get_object_or_404(OrgUnit.objects.restrict(user, Action.ADD), pk=payload.parent_id)
    unit = org_services.create_org_unit(
        actor=user,
        code=payload.code,
        name=payload.name,
        name_en=payload.name_en,
        level=payload.level,
        parent=parent,
    )
    return Status(201, unit)


@router.patch("/org-units/{unit_id}", response=OrgUnitOut)
def update_org_unit(request: HttpRequest, unit_id: int, payload: OrgUnitPatch) -> OrgUnit:
    user = _user(request)
    unit = get_object_or_404(OrgUnit.objects.restrict(user, Action.CHANGE), pk=unit_id)
    return org_services.update_org_unit(
        actor=user, org_unit=unit, name=payload.name, name_en=payload.name_en
    )


@router.get("/staff", response=list[StaffOut])
@paginate(BoundedPagination)
def list_staff(request: HttpRequest) -> Any:
    queryset = Staff.objects.restrict(_user(request)).select_related("org_unit")
    return [_staff_out(m) for m in _filtered(request, StaffFilterSet, queryset)]


@router.get("/staff/{staff_id}", response=StaffOut)
def get_staff(request: HttpRequest, staff_id: int) -> StaffOut:
    queryset = Staff.objects.restrict(_user(request)).select_related("org_unit")
    return _staff_out(get_object_or_404(queryset, pk=staff_id))


@router.post("/staff/{staff_id}/reveal", response=RevealOut)
def reveal_staff_mobile(request: HttpRequest, staff_id: int, payload: RevealIn) -> RevealOut:
    mobile = staff_services.reveal_mobile(
        actor=_user(request),
        staff_id=staff_id,
        reason=payload.reason,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    return RevealOut(id=staff_id, mobile=mobile)


@router.get("/jobs", response=list[JobOut])
@paginate(BoundedPagination)
def list_jobs(request: HttpRequest) -> Any:
    job_services.notice_lapsed_jobs()
    queryset = Job.objects.restrict(_user(request)).select_related("org_unit")
    return _filtered(request, JobFilterSet, queryset)


@router.get("/jobs/{job_id}", response=JobOut)
def get_job(request: HttpRequest, job_id: int) -> Job:
    job_services.notice_lapsed_jobs()
    queryset = Job.objects.restrict(_user(request)).select_related("org_unit")
    return get_object_or_404(queryset, pk=job_id)


@router.post("/jobs/{job_id}/cancel", response=JobOut)
def cancel_job(request: HttpRequest, job_id: int) -> Job:
    return job_services.cancel_job(actor=_user(request), job_id=job_id)


@router.post("/jobs/{job_id}/retry", response=JobOut)
def retry_job(request: HttpRequest, job_id: int) -> Job:
    return job_services.retry_job(actor=_user(request), job_id=job_id)


@router.get("/audit-records", response=list[AuditRecordOut])
@paginate(BoundedPagination)
def list_audit_records(request: HttpRequest) -> Any:
    queryset = AuditRecord.objects.restrict(_user(request)).select_related("org_unit")
    return _filtered(request, AuditRecordFilterSet, queryset)
