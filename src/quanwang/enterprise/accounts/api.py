"""REST endpoints of the account file under /api/v1/enterprise: the list (the console's
filter) and one account with its team and products. Thin: restrict, call a service,
serialise."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from quanwang.core.api_schema import BoundedPagination
from quanwang.core.errors import ServiceError
from quanwang.enterprise.accounts.filtersets import AccountFilterSet
from quanwang.enterprise.accounts.services import read
from quanwang.enterprise.accounts.services.team import find_account

router = Router(tags=["enterprise"])


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class AccountOut(Schema):
    enterprise_id: str
    name: str
    industry: str
    size: int | None
    credit_code: str
    status: str
    grade: str
    service_level: str
    ownership: str
    org_unit_code: str = Field(alias="org_unit.code")
    grid_id: str
    parent_enterprise_id: str | None
    merged_into_enterprise_id: str | None
    account_manager_employee_no: str | None
    member_count: int
    active: bool

    @staticmethod
    def resolve_parent_enterprise_id(obj: Any) -> str | None:
        return obj.parent.enterprise_id if obj.parent_id else None

    @staticmethod
    def resolve_merged_into_enterprise_id(obj: Any) -> str | None:
        return obj.merged_into.enterprise_id if obj.merged_into_id else None

    @staticmethod
    def resolve_account_manager_employee_no(obj: Any) -> str | None:
        return obj.account_manager.employee_no if obj.account_manager_id else None


class TeamMemberOut(Schema):
    employee_no: str = Field(alias="staff.employee_no")
    name: str = Field(alias="staff.name")
    role: str
    since: dt.date | None


class ProductOut(Schema):
    product_instance_id: str
    product: str
    start_date: dt.date | None
    contract_end: dt.date | None
    monthly_fee_fen: int
    agreement: bool
    bundled: bool
    prepaid_fen: int
    ending_soon: bool


class AccountDetailOut(AccountOut):
    # Set by the view under names the model's reverse relations do not use.
    team: list[TeamMemberOut] = Field(alias="team_rows")
    products: list[ProductOut] = Field(alias="product_rows")
    children: list[str] = Field(alias="child_ids")


@router.get("/accounts", response=list[AccountOut])
@paginate(BoundedPagination)
def list_accounts(request: HttpRequest) -> Any:
    queryset = read.visible_accounts(_user(request)).select_related("parent", "merged_into")
    filterset = AccountFilterSet(request.GET, queryset=queryset)
    if not filterset.is_valid():
        field, problems = next(iter(filterset.errors.items()))
        raise ServiceError(f"{field}: {problems[0]}", field=field)
    return filterset.qs


@router.get("/accounts/{enterprise_id}", response=AccountDetailOut)
def get_account(request: HttpRequest, enterprise_id: str) -> Any:
    account = find_account(user=_user(request), enterprise_id=enterprise_id)
    account.team_rows = read.team(account)  # type: ignore[attr-defined]
    account.product_rows = [  # type: ignore[attr-defined]
        {
            **{f: getattr(row.product, f) for f in ProductOut.model_fields if f != "ending_soon"},
            "ending_soon": row.ending_soon,
        }
        for row in read.products(account, today=timezone.localdate())
    ]
    account.child_ids = list(  # type: ignore[attr-defined]
        account.children.order_by("enterprise_id").values_list("enterprise_id", flat=True)
    )
    return account
