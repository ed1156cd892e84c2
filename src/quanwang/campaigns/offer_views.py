"""Console pages of the offer catalogue (优惠目录): thin, the rules are in services.offers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.campaigns.models import Offer
from quanwang.campaigns.offer_forms import OfferFilterForm, OfferForm, RetireForm
from quanwang.campaigns.services import offers as offer_services
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import home_unit

PAGE_SIZE = 30


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.OFFER, action=action):
        raise Http404


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _form_error(form: Any, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def offer_list(request: HttpRequest) -> HttpResponse:
    _guard(request)
    today = timezone.localdate()
    filter_form = OfferFilterForm(request.GET or None)
    found = offer_services.filtered(
        offer_services.catalogue(user=request.user), filters=filter_form.filters(), today=today
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = [offer.pk for offer in page]
    changeable = set(
        Offer.objects.restrict(request.user, Action.CHANGE)
        .filter(pk__in=shown)
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "campaigns/offer_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "rows": [(offer, offer.status(today=today), offer.pk in changeable) for offer in page],
            "can_add": home_unit(user=request.user, resource=Resource.OFFER, action=Action.ADD)
            is not None,
        },
    )


@login_required
def offer_new(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.ADD)
    unit = home_unit(user=request.user, resource=Resource.OFFER, action=Action.ADD)
    if unit is None:
        raise Http404
    form = OfferForm(request.POST or None, initial={"valid_from": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            offer = offer_services.create_offer(
                actor=request.user,
                org_unit=unit,
                code=form.cleaned_data["code"],
                terms=form.terms(),
                ip_address=_ip(request),
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Offer %(offer)s saved.") % {"offer": offer})
            return redirect("campaigns:offers")
    return render(
        request,
        "campaigns/offer_form.html",
        {"form": form, "title": _("New offer"), "unit": unit},
    )


@login_required
def offer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    try:
        offer = offer_services.get_changeable(actor=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    fixed = offer_services.committed_campaigns(offer=offer).exists()
    form = OfferForm(request.POST or None, offer=offer, fixed=fixed)
    if offer.retired_at is not None:  # shown as it was; a retired offer does not change
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            offer_services.change_offer(
                actor=request.user, pk=pk, terms=form.terms(), ip_address=_ip(request)
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Offer %(offer)s saved.") % {"offer": offer})
            return redirect("campaigns:offers")
    return render(
        request,
        "campaigns/offer_form.html",
        {
            "form": form,
            "title": str(offer),
            "offer": offer,
            "unit": offer.org_unit,
            "fixed": fixed,
            "retire_form": RetireForm() if offer.retired_at is None else None,
            "can_delete": not offer_services.in_use(offer=offer)
            and Offer.objects.restrict(request.user, Action.DELETE).filter(pk=pk).exists(),
        },
    )


@login_required
@require_POST
def offer_retire(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    form = RetireForm(request.POST)
    form.is_valid()
    try:
        offer = offer_services.retire_offer(
            actor=request.user,
            pk=pk,
            reason=form.cleaned_data.get("reason", ""),
            ip_address=_ip(request),
        )
    except NotFound as exc:
        raise Http404 from exc
    messages.success(
        request,
        _("Offer %(offer)s retired: campaigns that use it keep it, new ones cannot choose it.")
        % {"offer": offer},
    )
    return redirect("campaigns:offers")


@login_required
@require_POST
def offer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.DELETE)
    try:
        offer_services.delete_offer(actor=request.user, pk=pk, ip_address=_ip(request))
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:offer-edit", pk=pk)
    messages.success(request, _("Offer deleted."))
    return redirect("campaigns:offers")
