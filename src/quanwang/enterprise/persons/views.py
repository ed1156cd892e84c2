"""Console pages of the persons part: the care calendar, a person's page (masked, reveal with a
reason), an account's key persons with the relationship map, the import and the export. Thin:
restrict, call a service, render. Another scope's record is a 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.forms import ReasonForm
from quanwang.core.querysets import has_grant
from quanwang.core.uploads import release_upload, store_upload
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models.persons import Attitude, CareKind, CareStatus, Festival
from quanwang.enterprise.persons import pii
from quanwang.enterprise.persons.forms import (
    ActionForm,
    ImportForm,
    InfluenceForm,
    MomentForm,
    PersonForm,
    RatingForm,
)
from quanwang.enterprise.persons.services import care, people
from quanwang.enterprise.persons.services.imports import import_persons
from quanwang.enterprise.persons.services.relationship import (
    influence_rows,
    person_rows,
    relationship_map,
)


def _require(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.KEY_PERSON, action=action):
        raise Http404


def _may(request: HttpRequest, action: Action) -> bool:
    return has_grant(request.user, resource=Resource.KEY_PERSON, action=action)


def _span(request: HttpRequest) -> tuple[str, dt.date, dt.date]:
    view = "month" if request.GET.get("view") == "month" else "week"
    today = timezone.localdate()
    try:
        anchor = dt.date.fromisoformat(request.GET.get("start") or "")
    except ValueError:
        anchor = today
    if view == "month":
        start = anchor.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    else:
        start = anchor - dt.timedelta(days=anchor.weekday())
        end = start + dt.timedelta(days=6)
    return view, start, end


@login_required
def care_calendar(request: HttpRequest) -> HttpResponse:
    _require(request)
    view, start, end = _span(request)
    moments = list(care.moments_between(user=request.user, start=start, end=end))
    for moment in moments:
        moment.person_shown = pii.masked_name(moment.person)  # type: ignore[attr-defined]
    step = dt.timedelta(days=7) if view == "week" else dt.timedelta(days=31)
    previous = (start - step).replace(day=1) if view == "month" else start - step
    context = {
        "view": view,
        "start": start,
        "end": end,
        "previous": previous,
        "next": end + dt.timedelta(days=1),
        "moments": moments,
        "due_count": sum(1 for m in moments if m.status == CareStatus.DUE),
        "today": timezone.localdate(),
        "can_change": _may(request, Action.CHANGE),
        "action_form": ActionForm(initial={"done_on": timezone.localdate()}),
    }
    return render(request, "enterprise/persons/care_calendar.html", context)


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or ""
    # Only a path of this site: never an open redirect.
    return redirect(target if target.startswith("/") and not target.startswith("//") else fallback)


@login_required
@require_POST
def care_action(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Action.CHANGE)
    form = ActionForm(request.POST)
    fallback = reverse("enterprise:persons-care")
    if not form.is_valid():
        messages.error(request, _("Check the action: what was done and when."))
        return _back(request, fallback)
    cost = form.cleaned_data["cost"]
    try:
        care.record_action(
            user=request.user,
            moment_pk=pk,
            given=care.ActionInput(
                what=form.cleaned_data["what"],
                done_on=form.cleaned_data["done_on"],
                cost_fen=int(cost * Decimal(100)) if cost is not None else None,
            ),
            idempotency_key=form.cleaned_data["key"],
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as refused:
        messages.error(request, refused.message)
        return _back(request, fallback)
    messages.success(request, _("The care action was recorded."))
    return _back(request, fallback)


@login_required
@require_POST
def care_skip(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Action.CHANGE)
    try:
        care.skip_moment(user=request.user, moment_pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    return _back(request, reverse("enterprise:persons-care"))


def _person(request: HttpRequest, pk: int, action: Action = Action.VIEW) -> Any:
    try:
        return people.find_person(user=request.user, person_pk=pk, action=action)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    person = _person(request, pk)
    roles = (
        people.visible_persons(user=request.user)
        .filter(pk=person.pk)
        .values_list("roles__account_id", flat=True)
    )
    accounts = people.person_accounts(user=request.user).filter(pk__in=roles)
    role_rows = (
        person.roles.filter(account__in=accounts).select_related("account").order_by("account")
    )
    ratings = (
        person.ratings.filter(account__in=accounts)
        .select_related("account", "rated_by")
        .order_by("-rated_on", "-pk")
    )
    moments = person.care_moments.prefetch_related("actions").order_by("-date")[:30]
    rating_form = RatingForm(initial={"attitude": Attitude.NEUTRAL, "influence": 3})
    rating_form.fields["account"].choices = [(a.pk, a.name) for a in accounts]  # type: ignore[attr-defined]
    context = {
        "person": person,
        "shown": pii.masked(person),
        "roles": role_rows,
        "ratings": ratings,
        "moments": moments,
        "can_reveal": pii.may_reveal(user=request.user, person=person),
        "can_change": people.visible_persons(user=request.user, action=Action.CHANGE)
        .filter(pk=person.pk)
        .exists(),
        "reason_form": ReasonForm(),
        "moment_form": MomentForm(),
        "rating_form": rating_form,
        "action_form": ActionForm(initial={"done_on": timezone.localdate()}),
    }
    return render(request, "enterprise/persons/person_detail.html", context)


@login_required
@require_POST
def person_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Action.VIEW_PII)
    person = _person(request, pk, Action.VIEW_PII)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for seeing personal data."))
        return redirect("enterprise:persons-detail", pk=person.pk)
    try:
        full = pii.reveal(
            user=request.user,
            person_pk=person.pk,
            reason=form.cleaned_data["reason"],
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as refused:
        messages.error(request, refused.message)
        return redirect("enterprise:persons-detail", pk=person.pk)
    return render(request, "enterprise/persons/_revealed.html", {"full": full, "person": person})


@login_required
@require_POST
def person_moment(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Action.CHANGE)
    person = _person(request, pk, Action.CHANGE)
    form = MomentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the care moment's kind and date."))
        return redirect("enterprise:persons-detail", pk=person.pk)
    data = form.cleaned_data
    try:
        care.add_moment(
            user=request.user,
            person_pk=person.pk,
            given=care.MomentInput(
                kind=CareKind(data["kind"]),
                date=data["date"],
                festival=Festival(data["festival"]) if data["festival"] else None,
                note=data["note"],
            ),
            idempotency_key=data["key"],
        )
    except ServiceError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The care moment was added."))
    return redirect("enterprise:persons-detail", pk=person.pk)


@login_required
@require_POST
def person_rate(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, Action.CHANGE)
    person = _person(request, pk, Action.CHANGE)
    form = RatingForm(request.POST)
    form.fields["account"].choices = [  # type: ignore[attr-defined]
        (a.pk, a.name) for a in people.person_accounts(user=request.user, action=Action.CHANGE)
    ]
    if not form.is_valid():
        messages.error(request, _("Check the rating: account, scores and attitude."))
        return redirect("enterprise:persons-detail", pk=person.pk)
    data = form.cleaned_data
    try:
        people.rate(
            user=request.user,
            person_pk=person.pk,
            account_pk=data["account"],
            given=people.RatingInput(
                influence=data["influence"],
                attitude=Attitude(data["attitude"]),
                relationship=data["relationship"],
            ),
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The rating was recorded."))
    return redirect("enterprise:persons-detail", pk=person.pk)


@login_required
def account_persons(request: HttpRequest, account_pk: int) -> HttpResponse:
    _require(request)
    try:
        account = people.person_account(user=request.user, account_pk=account_pk)
    except NotFound as exc:
        raise Http404 from exc
    rows = person_rows(account=account)
    may_change = (
        people.person_accounts(user=request.user, action=Action.CHANGE)
        .filter(pk=account.pk)
        .exists()
    )
    influence = InfluenceForm()
    choices = [(row.person.pk, row.name) for row in rows]
    influence.fields["source"].choices = choices  # type: ignore[attr-defined]
    influence.fields["target"].choices = choices  # type: ignore[attr-defined]
    context = {
        "account": account,
        "rows": rows,
        "graph": relationship_map(account=account, rows=rows),
        "map_id": f"person-graph-{account.pk}-data",
        "edges": influence_rows(account=account),
        "may_change": may_change,
        "person_form": PersonForm(),
        "influence_form": influence if len(rows) > 1 else None,
    }
    return render(request, "enterprise/persons/account_persons.html", context)


@login_required
@require_POST
def account_person_add(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Add a key person (or link one on file under the same mobile and name) to the account."""
    _require(request, Action.ADD)
    form = PersonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the person: name, mobile number and role."))
        return redirect("enterprise:persons-account", account_pk=account_pk)
    data = form.cleaned_data
    try:
        placed = people.add_person(
            user=request.user,
            account_pk=account_pk,
            given=people.PersonInput(
                name=data["name"],
                mobile=data["mobile"],
                role=PersonRole(data["role"]),
                title=data["title"],
                birthday=data["birthday"],
            ),
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _("The key person was added.")
            if placed.new_person
            else _("The person on file with this mobile number was linked to the account."),
        )
    return redirect("enterprise:persons-account", account_pk=account_pk)


@login_required
@require_POST
def account_influence_add(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Record who influences whom at the account."""
    _require(request, Action.CHANGE)
    try:
        account = people.person_account(
            user=request.user, account_pk=account_pk, action=Action.CHANGE
        )
    except NotFound as exc:
        raise Http404 from exc
    form = InfluenceForm(request.POST)
    choices = [
        (pk, pk) for pk in people.roles_at(account=account).values_list("person_id", flat=True)
    ]
    form.fields["source"].choices = choices  # type: ignore[attr-defined]
    form.fields["target"].choices = choices  # type: ignore[attr-defined]
    if not form.is_valid():
        messages.error(request, _("Choose two key persons of the account and a strength."))
        return redirect("enterprise:persons-account", account_pk=account.pk)
    data = form.cleaned_data
    try:
        people.add_influence(
            user=request.user,
            account_pk=account.pk,
            source_pk=data["source"],
            target_pk=data["target"],
            strength=data["strength"],
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The influence was recorded."))
    return redirect("enterprise:persons-account", account_pk=account.pk)


@login_required
def person_import(request: HttpRequest) -> HttpResponse:
    _require(request, Action.ADD)
    result = None
    form = ImportForm()
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            path = store_upload(upload)
            try:
                result = import_persons(user=request.user, path=path, name=upload.name)
            except ServiceError as refused:
                form.add_error("file", refused.message)
            finally:
                release_upload(path)
                path.unlink(missing_ok=True)
    return render(request, "enterprise/persons/import.html", {"form": form, "result": result})


@login_required
def person_export(request: HttpRequest) -> HttpResponse:
    """The user's key persons as CSV: masked, unless the user holds EXPORT_PII (audited)."""
    _require(request)
    content = pii.export_csv(
        user=request.user,
        full=request.GET.get("full") == "1",
        reason=request.GET.get("reason") or "",
    )
    response = HttpResponse("\ufeff" + content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="key-persons.csv"'
    return response
