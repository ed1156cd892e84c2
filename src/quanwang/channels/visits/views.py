"""Console pages of store visits (门店拜访): the stores due a visit, the visit form (phone
first), a visit, the commitments and the partners' issues, and the visit plan. Thin: the
rules are in services."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.channels.models import Commitment, PartnerIssue, StoreVisit
from quanwang.channels.visits import forms as visit_forms
from quanwang.channels.visits.choices import (
    CommitmentSide,
    CommitmentStatus,
    DueState,
    IssueCategory,
    IssueStatus,
)
from quanwang.channels.visits.services import commitments as commitment_services
from quanwang.channels.visits.services import issues as issue_services
from quanwang.channels.visits.services import plan as plan_services
from quanwang.channels.visits.services import visit_log
from quanwang.channels.visits.services.scope import person, visible
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import home_unit

PAGE_SIZE = 50
#: Closed commitments shown under the open ones.
RECENTLY_CLOSED = 20


def _guard(request: HttpRequest, resource: Resource, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=resource, action=action):
        raise Http404


def _back(request: HttpRequest, default: str) -> str:
    """The page to go back to after a post: a path on this site, else `default`."""
    target = request.POST.get("next", "")
    if (
        target.startswith("/")
        and target.isprintable()
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        return target
    return default


def _form_error(form: Any, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def due(request: HttpRequest) -> HttpResponse:
    """The stores due or overdue a visit in the user's reach, the most urgent first."""
    _guard(request, Resource.STORE_VISIT)
    everything = request.GET.get("all") == "1"
    found = plan_services.due_list(
        user=request.user, today=timezone.localdate(), everything=everything
    )
    page = Paginator(found.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "channels/visits/due.html",
        {
            "page": page,
            "counts": [(state, found.counts[state]) for state in DueState],
            "everything": everything,
            "can_log": has_grant(request.user, resource=Resource.STORE_VISIT, action=Action.ADD),
            "can_follow": has_grant(
                request.user, resource=Resource.STORE_VISIT, action=Action.CHANGE
            ),
        },
    )


def _commitment_inputs(formset: Any) -> list[visit_log.CommitmentInput]:
    return [
        visit_log.CommitmentInput(
            side=CommitmentSide(row["side"]), what=row["what"], due_on=row["due_on"]
        )
        for row in formset.cleaned_data
        if row and (row.get("what") or "").strip()
    ]


@login_required
def visit_new(request: HttpRequest, store_pk: int) -> HttpResponse:
    """Log a visit to a store on the four-point checklist."""
    _guard(request, Resource.STORE_VISIT, Action.ADD)
    try:
        store = visit_log.visitable_store(user=request.user, store_pk=store_pk)
    except NotFound as exc:
        raise Http404 from exc
    today = timezone.localdate()
    if request.method == "POST":
        form = visit_forms.VisitForm(request.POST)
        formset = visit_forms.CommitmentFormSet(request.POST, prefix="c")
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            category = data.get("issue_category")
            try:
                logged = visit_log.log_visit(
                    user=request.user,
                    store_pk=store.pk,
                    visited_on=data["visited_on"],
                    notes=visit_log.VisitNotes(
                        how_are_things=data["how_are_things"],
                        new_plans=data["new_plans"],
                        our_support=data["our_support"],
                        their_commitment=data["their_commitment"],
                    ),
                    idempotency_key=data["idempotency_key"],
                    commitments=_commitment_inputs(formset),
                    issue=visit_log.IssueInput(
                        category=IssueCategory(category),
                        description=data.get("issue_description") or "",
                    )
                    if category
                    else None,
                )
            except NotFound as exc:
                raise Http404 from exc
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                if logged.created:
                    messages.success(request, _("Visit logged."))
                else:
                    messages.info(request, _("This visit had been logged already."))
                return redirect("channels:visits-detail", logged.visit.pk)
    else:
        form = visit_forms.VisitForm(initial={"idempotency_key": uuid.uuid4(), "visited_on": today})
        formset = visit_forms.CommitmentFormSet(prefix="c")
    return render(
        request,
        "channels/visits/visit_form.html",
        {
            "store": store,
            "state": plan_services.store_plan_state(store=store, today=today),
            "form": form,
            "formset": formset,
        },
    )


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Resource.STORE_VISIT)
    visit = (
        visible(StoreVisit, user=request.user)
        .select_related("store", "store__org_unit", "visitor")
        .filter(pk=pk)
        .first()
    )
    if visit is None:
        raise Http404
    today = timezone.localdate()
    changeable = set(
        visible(Commitment, user=request.user, action=Action.CHANGE)
        .filter(visit=visit)
        .values_list("pk", flat=True)
    )
    commitments = [
        {
            "c": c,
            "overdue": commitment_services.is_overdue(c, today=today),
            "can_close": c.pk in changeable and c.status == CommitmentStatus.OPEN,
            "closed_by": person(c.closed_by),
        }
        for c in visit.commitments.select_related("closed_by").order_by("due_on", "pk")
    ]
    issues = visible(PartnerIssue, user=request.user).filter(visit=visit)
    return render(
        request,
        "channels/visits/visit_detail.html",
        {
            "visit": visit,
            "visitor": person(visit.visitor),
            "commitments": commitments,
            "close_form": visit_forms.CloseCommitmentForm(),
            "issues": issues,
            "here": request.get_full_path(),
            "can_log": has_grant(request.user, resource=Resource.STORE_VISIT, action=Action.ADD),
        },
    )


@login_required
@require_POST
def commitment_close(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Resource.STORE_VISIT, Action.CHANGE)
    back = _back(request, reverse("channels:visits-commitments"))
    form = visit_forms.CloseCommitmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how the commitment ended."))
        return redirect(back)
    try:
        closed = commitment_services.close_commitment(
            user=request.user,
            commitment_pk=pk,
            outcome=CommitmentStatus(form.cleaned_data["outcome"]),
            note=form.cleaned_data["note"],
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Commitment closed: %(status)s.") % {"status": closed.get_status_display()},
        )
    return redirect(back)


@login_required
def commitment_list(request: HttpRequest) -> HttpResponse:
    """The open commitments in the user's reach, overdue first, and the latest closed."""
    _guard(request, Resource.STORE_VISIT)
    today = timezone.localdate()
    filters = visit_forms.CommitmentFilterForm(request.GET or None)
    side = None
    if filters.is_valid() and filters.cleaned_data["side"]:
        side = CommitmentSide(filters.cleaned_data["side"])
    found = commitment_services.open_commitments(user=request.user, today=today, side=side)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    changeable = set(
        visible(Commitment, user=request.user, action=Action.CHANGE)
        .filter(pk__in=[c.pk for c in page])
        .values_list("pk", flat=True)
    )
    closed = (
        visible(Commitment, user=request.user)
        .exclude(status=CommitmentStatus.OPEN)
        .select_related("store", "closed_by")
        .order_by("-closed_at", "-pk")[:RECENTLY_CLOSED]
    )
    return render(
        request,
        "channels/visits/commitments.html",
        {
            "filters": filters,
            "page": page,
            "rows": [
                {
                    "c": c,
                    "overdue": commitment_services.is_overdue(c, today=today),
                    "days_late": (today - c.due_on).days,
                    "can_close": c.pk in changeable,
                }
                for c in page
            ],
            "closed": [{"c": c, "closed_by": person(c.closed_by)} for c in closed],
            "counts": commitment_services.commitment_counts(user=request.user, today=today),
            "close_form": visit_forms.CloseCommitmentForm(),
            "here": request.get_full_path(),
        },
    )


@login_required
def issue_list(request: HttpRequest) -> HttpResponse:
    """The aging list of partners' issues: the unresolved, the oldest first, by age bucket;
    or the resolved, with how long each took."""
    _guard(request, Resource.PARTNER_ISSUE)
    today = timezone.localdate()
    filters = visit_forms.IssueFilterForm(request.GET or None)
    category, resolved = None, False
    if filters.is_valid():
        category = (
            IssueCategory(filters.cleaned_data["category"])
            if filters.cleaned_data["category"]
            else None
        )
        resolved = filters.cleaned_data["resolved"]
    if resolved:
        issues = issue_services.issues_in_reach(
            user=request.user, statuses=(IssueStatus.RESOLVED,), category=category
        ).order_by("-resolved_at", "-pk")
        page: Any = Paginator(issues, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [{"issue": i, "days": issue_services.days_open(i, today=today)} for i in page]
        buckets: list[Any] = []
    else:
        aged = issue_services.aging(user=request.user, today=today, category=category)
        page = Paginator(aged.rows, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [{"issue": a.issue, "days": a.days_open, "bucket": a.bucket} for a in page]
        buckets = list(aged.buckets)
    return render(
        request,
        "channels/visits/issues.html",
        {"filters": filters, "page": page, "rows": rows, "buckets": buckets, "resolved": resolved},
    )


@login_required
def issue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Resource.PARTNER_ISSUE)
    issue = (
        visible(PartnerIssue, user=request.user)
        .select_related("store", "visit", "raised_by", "started_by", "resolved_by")
        .filter(pk=pk)
        .first()
    )
    if issue is None:
        raise Http404
    may_move = (
        visible(PartnerIssue, user=request.user, action=Action.CHANGE).filter(pk=pk).exists()
        and issue.status != IssueStatus.RESOLVED
    )
    form = visit_forms.MoveIssueForm(current=IssueStatus(issue.status))
    return render(
        request,
        "channels/visits/issue_detail.html",
        {
            "issue": issue,
            "days": issue_services.days_open(issue, today=timezone.localdate()),
            "raised_by": person(issue.raised_by),
            "started_by": person(issue.started_by),
            "resolved_by": person(issue.resolved_by),
            "form": form if may_move else None,
        },
    )


@login_required
@require_POST
def issue_move(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Resource.PARTNER_ISSUE, Action.CHANGE)
    form = visit_forms.MoveIssueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the issue's new status."))
        return redirect("channels:visits-issue-detail", pk)
    try:
        moved = issue_services.move_issue(
            user=request.user,
            issue_pk=pk,
            to=IssueStatus(form.cleaned_data["to"]),
            resolution=form.cleaned_data["resolution"],
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The issue is now %(status)s.") % {"status": moved.get_status_display()}
        )
    return redirect("channels:visits-issue-detail", pk)


@login_required
def plan(request: HttpRequest) -> HttpResponse:
    """The visit plan by grade in force for the user's stores; the province changes it."""
    _guard(request, Resource.CHANNEL_RULES)
    unit = home_unit(user=request.user, resource=Resource.CHANNEL_RULES, action=Action.VIEW)
    if unit is None:
        raise Http404
    editable = home_unit(user=request.user, resource=Resource.CHANNEL_RULES, action=Action.CHANGE)
    rows = plan_services.plan_rows(org_unit=editable or unit)
    form = None
    if editable is not None:
        initial = {plan_services.plan_field(r.grade): r.interval_days for r in rows}
        form = visit_forms.PlanForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                plan_services.set_plan(
                    user=request.user,
                    org_unit=editable,
                    intervals={
                        g: form.cleaned_data[plan_services.plan_field(g)]
                        for g in plan_services.PLAN_GRADES
                    },
                )
            except NotFound as exc:
                raise Http404 from exc
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("Visit plan saved."))
                return redirect("channels:visits-plan")
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "channels/visits/plan.html",
        {"rows": rows, "unit": editable or unit, "form": form},
    )
