"""Console pages of the pipeline: the board (per manager, per unit; a list by stage on a
phone), an opportunity with its stage history and the stage form, the new-opportunity form,
and the industry product catalogue. Thin: the rules are in services."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import units_granting
from quanwang.enterprise.pipeline.choices import OpportunityStage, ProductLine
from quanwang.enterprise.pipeline.services import board as board_services
from quanwang.enterprise.pipeline.services import catalogue as catalogue_services
from quanwang.enterprise.pipeline.services import visible_opportunities
from quanwang.enterprise.pipeline.services.opportunities import (
    NewOpportunity,
    accounts_for_opportunities,
    create_opportunity,
)
from quanwang.enterprise.pipeline.services.stages import DEFAULT_PROBABILITY, move_stage


def _guard(request: HttpRequest, resource: Resource, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=resource, action=action):
        raise Http404


def _int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@login_required
def board(request: HttpRequest) -> HttpResponse:
    _guard(request, Resource.OPPORTUNITY)
    user = request.user
    managers = board_services.managers_in_view(user=user)
    units = units_granting(user=user, resource=Resource.OPPORTUNITY, action=Action.VIEW)
    manager_id, unit_id = _int(request.GET.get("manager")), _int(request.GET.get("unit"))
    manager = managers.filter(pk=manager_id).first() if manager_id else None
    unit = units.filter(pk=unit_id).first() if unit_id else None
    found = board_services.board(user=user, manager=manager, unit=unit, today=timezone.localdate())
    return render(
        request,
        "enterprise/pipeline/board.html",
        {
            "board": found,
            "managers": managers,
            "units": units.order_by("path")[:200],
            "manager": manager,
            "unit": unit,
            "can_add": has_grant(user, resource=Resource.OPPORTUNITY, action=Action.ADD),
        },
    )


def _opportunity(request: HttpRequest, pk: int) -> Any:
    found = (
        visible_opportunities(user=request.user)
        .select_related("account", "owner")
        .prefetch_related("products")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404
    return found


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Resource.OPPORTUNITY)
    opportunity = _opportunity(request, pk)
    can_change = (
        visible_opportunities(user=request.user, action=Action.CHANGE).filter(pk=pk).exists()
    )
    return render(
        request,
        "enterprise/pipeline/detail.html",
        {
            "o": opportunity,
            "history": opportunity.stage_changes.select_related("changed_by").order_by(
                "changed_at", "pk"
            ),
            "stages": list(OpportunityStage),
            "defaults": DEFAULT_PROBABILITY,
            "can_change": can_change,
        },
    )


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Resource.OPPORTUNITY, Action.CHANGE)
    probability = _int(request.POST.get("probability"))
    try:
        move_stage(
            user=request.user,
            opportunity_id=pk,
            stage=request.POST.get("stage", ""),
            reason=request.POST.get("reason", ""),
            probability=probability,
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The stage is saved."))
    return redirect("enterprise:pipeline-detail", pk=pk)


def _yuan_to_fen(text: str) -> int:
    try:
        value = round(float(text or 0) * 100)
    except ValueError as exc:
        raise ServiceError(_("Write the amount in yuan, e.g. 120000."), field="amount") from exc
    return value


@login_required
def new(request: HttpRequest) -> HttpResponse:
    _guard(request, Resource.OPPORTUNITY, Action.ADD)
    user = request.user
    accounts = accounts_for_opportunities(user=user).order_by("name")
    account = accounts.filter(pk=_int(request.GET.get("account") or request.POST.get("account")))
    chosen = account.first()
    products = catalogue_services.products(
        user=user, industry=chosen.industry if chosen else None, active_only=True
    )
    error: ServiceError | None = None
    if request.method == "POST":
        try:
            closes = dt.date.fromisoformat(request.POST.get("expected_close", ""))
        except ValueError:
            error = ServiceError(_("Give the expected close date."), field="expected_close")
        else:
            try:
                opportunity, _created = create_opportunity(
                    user=user,
                    data=NewOpportunity(
                        account_id=_int(request.POST.get("account")) or 0,
                        title=request.POST.get("title", ""),
                        expected_close=closes,
                        idempotency_key=request.POST.get("key", ""),
                        amount_fen=_yuan_to_fen(request.POST.get("amount", "")),
                        stage=OpportunityStage(request.POST.get("stage") or OpportunityStage.LEAD)
                        if request.POST.get("stage", "lead") in OpportunityStage.values
                        else OpportunityStage.LEAD,
                        probability=_int(request.POST.get("probability")),
                        product_ids=tuple(
                            p for p in map(_int, request.POST.getlist("products")) if p
                        ),
                        proposal=request.POST.get("proposal", ""),
                        proposal_file=request.POST.get("proposal_file", ""),
                    ),
                )
            except NotFound as exc:
                raise Http404 from exc
            except ServiceError as exc:
                error = exc
            else:
                return redirect("enterprise:pipeline-detail", pk=opportunity.pk)
    return render(
        request,
        "enterprise/pipeline/new.html",
        {
            "accounts": accounts[:500],
            "account": chosen,
            "products": products,
            "stages": [
                s
                for s in OpportunityStage
                if s not in (OpportunityStage.WON, OpportunityStage.LOST)
            ],
            "key": request.POST.get("key") or uuid.uuid4().hex,
            "error": error,
            "posted": request.POST,
        },
        status=400 if error else 200,
    )


@login_required
def products(request: HttpRequest) -> HttpResponse:
    _guard(request, Resource.ENTERPRISE_RULES)
    user = request.user
    can_set = catalogue_services.may_set_catalogue(user, Action.ADD)
    error: ServiceError | None = None
    if request.method == "POST":
        if not can_set:
            raise Http404
        try:
            catalogue_services.save_product(
                user=user,
                terms=catalogue_services.ProductTerms(
                    code=request.POST.get("code", ""),
                    industry=request.POST.get("industry", ""),
                    name=request.POST.get("name", ""),
                    product_lines=tuple(request.POST.getlist("product_lines")),
                    list_price_fen=_yuan_to_fen(request.POST.get("price", "")),
                    description=request.POST.get("description", ""),
                    active=request.POST.get("active", "1") == "1",
                ),
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            error = exc
        else:
            messages.success(request, _("The product is saved."))
            return redirect("enterprise:pipeline-products")
    return render(
        request,
        "enterprise/pipeline/products.html",
        {
            "products": catalogue_services.products(user=user).select_related("offer"),
            "lines": list(ProductLine),
            "can_set": can_set,
            "error": error,
            "posted": request.POST,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Resource.ENTERPRISE_RULES, Action.CHANGE)
    try:
        catalogue_services.publish_offer(
            user=request.user, product_id=pk, today=timezone.localdate()
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The product is in the campaigns' offer catalogue."))
    return redirect("enterprise:pipeline-products")


def unit_or_manager_names(*, unit: OrgUnit | None, manager: Staff | None) -> str:
    return " · ".join(x for x in (unit.name if unit else "", manager.name if manager else "") if x)
