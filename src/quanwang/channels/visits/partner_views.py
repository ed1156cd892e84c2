"""The partner's own pages (合作伙伴): its store(s), with sales, tasks, statements, visits and
issues, and a form to raise an issue. A partner's login reaches its own stores only: another
store, or any page here for a login that is no partner, is not found."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from quanwang.channels.commissions import sections as commission_sections
from quanwang.channels.models import Store
from quanwang.channels.visits import forms as visit_forms
from quanwang.channels.visits import sections
from quanwang.channels.visits.choices import IssueCategory
from quanwang.channels.visits.services import issues as issue_services
from quanwang.channels.visits.services import partner as partner_services
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant


def _store(request: HttpRequest, store_pk: int) -> Store:
    try:
        return partner_services.partner_store(user=request.user, store_pk=store_pk)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def partner_home(request: HttpRequest) -> HttpResponse:
    """The partner's stores; with one store, that store's page."""
    stores = list(partner_services.partner_stores(user=request.user))
    if not stores:
        raise Http404
    if len(stores) == 1:
        return redirect("channels:visits-partner-store", stores[0].pk)
    return render(request, "channels/visits/partner_home.html", {"stores": stores})


def _section(request: HttpRequest, context: Any, template: str) -> SafeString | None:
    """A part's section of the page, rendered by its template with the context the part's
    section function returned (None: the part adds nothing)."""
    if not isinstance(context, dict):
        return None
    return SafeString(render_to_string(template, context, request))


@login_required
def partner_store(request: HttpRequest, store_pk: int) -> HttpResponse:
    store = _store(request, store_pk)
    tasks_url = None
    if has_grant(request.user, resource=Resource.CAMPAIGN_TASK, action=Action.VIEW):
        tasks_url = f"{reverse('campaigns:tasks')}?store={store.store_id}"
    return render(
        request,
        "channels/visits/partner_store.html",
        {
            "store": store,
            "others": partner_services.partner_stores(user=request.user).exclude(pk=store.pk),
            "sales": partner_services.store_sales(store_id=store.store_id),
            "tasks_url": tasks_url,
            "statements": _section(
                request,
                commission_sections.partner_section(stores=[store], user=request.user),
                "channels/commissions/_partner_section.html",
            ),
            "visits": _section(
                request,
                sections.partner_section(stores=[store], user=request.user),
                "channels/visits/_partner_section.html",
            ),
            "can_raise": partner_services.may_raise_issues(request.user),
        },
    )


@login_required
def partner_issue_new(request: HttpRequest, store_pk: int) -> HttpResponse:
    """The partner raises an issue for its store."""
    store = _store(request, store_pk)
    if not partner_services.may_raise_issues(request.user):
        raise Http404
    if request.method == "POST":
        form = visit_forms.RaiseIssueForm(request.POST)
        if form.is_valid():
            try:
                issue_services.raise_issue(
                    user=request.user,
                    store_pk=store.pk,
                    category=IssueCategory(form.cleaned_data["category"]),
                    description=form.cleaned_data["description"],
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except NotFound as exc:
                raise Http404 from exc
            except ServiceError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Issue raised. You can follow it on this page."))
                return redirect("channels:visits-partner-store", store.pk)
    else:
        form = visit_forms.RaiseIssueForm(initial={"idempotency_key": uuid.uuid4()})
    return render(
        request, "channels/visits/partner_issue_form.html", {"store": store, "form": form}
    )
