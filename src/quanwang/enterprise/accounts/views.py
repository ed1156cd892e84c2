"""Console pages of the account file: the list (and its XLSX export), the account 360 page
with its team, ownership, hierarchy and merge forms, and the enterprise dashboard. Thin:
restrict, call a service, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, PiiKind, Resource
from quanwang.core.error_views import form_errors_text
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.masking import mask
from quanwang.core.querysets import has_grant
from quanwang.enterprise.accounts import exports
from quanwang.enterprise.accounts.filtersets import AccountFilterSet
from quanwang.enterprise.accounts.forms import (
    LeadForm,
    MemberForm,
    MergeForm,
    MoveForm,
    OwnershipForm,
    RemoveForm,
)
from quanwang.enterprise.accounts.services import read
from quanwang.enterprise.accounts.services.merge import merge_accounts
from quanwang.enterprise.accounts.services.team import (
    add_member,
    change_ownership,
    find_account,
    move_account,
    remove_member,
    set_lead,
)
from quanwang.enterprise.choices import AccountStatus
from quanwang.enterprise.models import Account
from quanwang.enterprise.sections import Page, render_sections

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.ENTERPRISE_ACCOUNT, action=action):
        raise Http404


def _account(request: HttpRequest, enterprise_id: str, action: Action = Action.VIEW) -> Account:
    try:
        return find_account(user=request.user, enterprise_id=enterprise_id, action=action)
    except NotFound as exc:
        raise Http404 from exc


def _filtered(request: HttpRequest) -> AccountFilterSet:
    return AccountFilterSet(request.GET, queryset=read.visible_accounts(request.user))


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    filterset = _filtered(request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "enterprise/accounts/account_list.html",
        {"filterset": filterset, "page": page, "count": page.paginator.count},
    )


@login_required
def account_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as XLSX (no personal data in it)."""
    _require(request)
    filterset = _filtered(request)
    if not filterset.is_valid():
        messages.error(request, _("The filter is not valid."))
        return redirect("enterprise:accounts-list")
    response = HttpResponse(exports.account_workbook(filterset.qs), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="enterprise-accounts.xlsx"'
    return response


@login_required
def account_detail(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    """The account 360: header, hierarchy, team, ownership, products and contract ends,
    members, history, then the other parts' sections."""
    _require(request)
    account = _account(request, enterprise_id)
    user = request.user
    # One indexed lookup each (the account's pk within the user's reach).
    can_change = account.status != AccountStatus.MERGED and read.may(user, account, Action.CHANGE)
    can_merge = account.status != AccountStatus.MERGED and read.may(user, account, Action.APPROVE)
    members = read.members(account)
    for member in members:
        member.msisdn_masked = mask(member.msisdn, PiiKind.MSISDN)  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "account": account,
        "tree": read.hierarchy(account),
        "team": read.team(account),
        "products": read.products(account, today=timezone.localdate()),
        "members": members,
        "customer_links": has_grant(user, resource=Resource.CUSTOMER, action=Action.VIEW),
        "history": read.history(account),
        "merged_from": read.merged_from(account),
        "can_change": can_change,
        "can_merge": can_merge,
        "ownership_form": OwnershipForm(initial={"ownership": account.ownership}),
        "move_form": MoveForm(
            initial={"parent": account.parent.enterprise_id if account.parent else ""}
        ),
        "member_form": MemberForm(),
        "lead_form": LeadForm(),
        "merge_form": MergeForm(),
        "sections": render_sections(page=Page.ACCOUNT, request=request, account=account, user=user),
    }
    return render(request, "enterprise/accounts/account_detail.html", context)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _require(request)
    figures = read.dashboard(request.user)
    return render(
        request,
        "enterprise/accounts/dashboard.html",
        {
            "figures": figures,
            "sections": render_sections(page=Page.DASHBOARD, request=request, user=request.user),
        },
    )


def _post(
    request: HttpRequest,
    enterprise_id: str,
    form_class: Any,
    act: Callable[[dict[str, Any]], Any],
    done: str,
    *,
    action: Action = Action.CHANGE,
) -> HttpResponse:
    """Parse the form, run the use case, say what happened, back to the account page. An
    account out of the user's reach is 404 whatever the form says."""
    _require(request, action)
    _account(request, enterprise_id, action)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
    else:
        try:
            act(form.cleaned_data)
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
    return redirect(reverse("enterprise:accounts-detail", args=[enterprise_id]))


@login_required
@require_POST
def account_ownership(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    return _post(
        request,
        enterprise_id,
        OwnershipForm,
        lambda d: change_ownership(
            user=request.user,
            enterprise_id=enterprise_id,
            ownership=d["ownership"],
            reason=d["reason"],
        ),
        _("Ownership changed."),
    )


@login_required
@require_POST
def account_move(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    return _post(
        request,
        enterprise_id,
        MoveForm,
        lambda d: move_account(
            user=request.user,
            enterprise_id=enterprise_id,
            parent_enterprise_id=d["parent"] or None,
            reason=d["reason"],
        ),
        _("Account moved in the hierarchy."),
    )


@login_required
@require_POST
def team_add(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    return _post(
        request,
        enterprise_id,
        MemberForm,
        lambda d: add_member(
            user=request.user,
            enterprise_id=enterprise_id,
            employee_no=d["employee_no"],
            role=d["role"],
            reason=d["reason"],
        ),
        _("Team member added."),
    )


@login_required
@require_POST
def team_remove(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    return _post(
        request,
        enterprise_id,
        RemoveForm,
        lambda d: remove_member(
            user=request.user, enterprise_id=enterprise_id, employee_no=d["employee_no"]
        ),
        _("Team member removed."),
    )


@login_required
@require_POST
def team_lead(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    return _post(
        request,
        enterprise_id,
        LeadForm,
        lambda d: set_lead(
            user=request.user,
            enterprise_id=enterprise_id,
            employee_no=d["employee_no"],
            reason=d["reason"],
        ),
        _("Lead account manager changed."),
    )


@login_required
@require_POST
def account_merge(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    return _post(
        request,
        enterprise_id,
        MergeForm,
        lambda d: merge_accounts(
            user=request.user,
            survivor_id=enterprise_id,
            merged_id=d["merged"].strip(),
            reason=d["reason"],
            ip_address=request.META.get("REMOTE_ADDR"),
        ),
        _("The duplicate account was merged into this one."),
        action=Action.APPROVE,
    )
