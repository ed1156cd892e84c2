"""Console pages of the store file: the list (and its XLSX export), the store page, revealing
the owner's contact and deciding the partner's stage. Thin: restrict, call a service, render."""

from __future__ import annotations

import re
from importlib import import_module
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.channels.choices import GradingCriterion, GridType, PartnerStage, SalesMeasure
from quanwang.channels.models import StageChange, Store, StoreGrading
from quanwang.channels.stores import exports
from quanwang.channels.stores.facts import monthly_sales
from quanwang.channels.stores.filtersets import StoreFilterSet
from quanwang.channels.stores.forms import StageForm
from quanwang.channels.stores.regrading import newest_sales_month
from quanwang.channels.stores.services import (
    change_stage,
    find_store,
    may,
    reveal_contact,
    visible_stores,
)
from quanwang.channels.stores.stages import STAGE_ORDER, assess
from quanwang.core import formatting
from quanwang.core.choices import Action, PiiKind, Resource
from quanwang.core.error_views import part_refused
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.forms import ReasonForm
from quanwang.core.masking import mask
from quanwang.core.querysets import has_grant

PAGE_SIZE = 50
# The parts that add a section to the store page (channels.<part>.sections.store_section).
SECTION_PARTS = ("funnel", "visits", "commissions")
HISTORY_MONTHS = 12
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _require(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.STORE, action=action):
        raise Http404


def _store(request: HttpRequest, store_id: str, action: Action = Action.VIEW) -> Store:
    try:
        return find_store(user=request.user, store_id=store_id, action=action)
    except NotFound as exc:
        raise Http404 from exc


def masked(store: Store) -> Store:
    """The store with its owner and contact masked for display (never saved)."""
    store.owner_masked = mask(store.owner_name, PiiKind.NAME)  # type: ignore[attr-defined]
    store.contact_masked = mask(store.contact_msisdn, PiiKind.MSISDN)  # type: ignore[attr-defined]
    return store


def _filtered(request: HttpRequest) -> StoreFilterSet:
    queryset = visible_stores(request.user).select_related("org_unit")
    return StoreFilterSet(request.GET, queryset=queryset)


@login_required
def store_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    filterset = _filtered(request)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for store in page:
        masked(store)
    return render(
        request,
        "channels/stores/store_list.html",
        {"filterset": filterset, "page": page, "count": page.paginator.count},
    )


@login_required
def store_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as XLSX, owner and contact masked (no personal data leaves)."""
    _require(request)
    filterset = _filtered(request)
    if not filterset.is_valid():
        messages.error(request, _("The filter is not valid."))
        return redirect("channels:stores-list")
    content = exports.store_workbook(filterset.qs)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="stores.xlsx"'
    return response


def _sections(*, request: HttpRequest, store: Store, month: str | None) -> list[SafeString]:
    """The other parts' sections of the store page, each rendered with its own context (the
    dict its `store_section` returns), as the grid and partner pages render theirs."""
    found = []
    for part in SECTION_PARTS:
        module = import_module(f"quanwang.channels.{part}.sections")
        section = module.store_section(store=store, user=request.user, month=month)
        if section is not None:
            template = f"channels/{part}/_store_section.html"
            found.append(SafeString(render_to_string(template, section, request)))
    return found


def _gradings(store: Store, user: Any) -> list[StoreGrading]:
    rows = list(
        StoreGrading.objects.restrict(user)
        .filter(store=store)
        .select_related("rule_set")
        .order_by("-month")[:HISTORY_MONTHS]
    )
    labels = dict(GradingCriterion.choices)
    for row in rows:
        row.reasons = [
            {
                "criterion": labels.get(key, key),
                "shown": shown_figure(key, value.get("value"), row.rule_set.sales_measure),
                **value,
            }
            for key, value in row.criteria.items()
        ]
    return rows


def shown_figure(criterion: str, value: Any, sales_measure: str) -> str:
    """A criterion's figure as people read it (a grid type by its label)."""
    if value is None or value == "":
        return formatting.MISSING
    if criterion == GradingCriterion.SALES:
        return str(
            formatting.money(value) if sales_measure == SalesMeasure.REVENUE
            else formatting.count(value)
        )  # fmt: skip
    if criterion == GradingCriterion.FOOTFALL:
        return formatting.count(value)
    if criterion in (GradingCriterion.CONVERSION, GradingCriterion.GROWTH):
        return formatting.percent(value)
    if criterion == GradingCriterion.LOCATION:
        return str(GridType(value).label) if value in GridType.values else str(value)
    return str(value)


@login_required
def store_detail(request: HttpRequest, store_id: str) -> HttpResponse:
    store = masked(_store(request, store_id))
    newest = newest_sales_month()
    asked = request.GET.get("month") or ""
    month = asked if MONTH.fullmatch(asked) else newest
    sales = monthly_sales(store_id=store.store_id)
    assessment = assess(store=store, sales=sales, newest_month=newest)
    criteria = [(PartnerStage(stage), assessment.criteria[str(stage)]) for stage in STAGE_ORDER[1:]]
    context = {
        "store": store,
        "month": month,
        "sales": sales,
        "assessment": assessment,
        "stage_criteria": criteria,
        "suggested": assessment.suggested,
        "stage_history": StageChange.objects.restrict(request.user)
        .filter(store=store)
        .select_related("changed_by")[:20],
        "gradings": _gradings(store, request.user),
        "can_reveal": may(request.user, store, Action.VIEW_PII),
        "can_change": may(request.user, store, Action.CHANGE),
        "reason_form": ReasonForm(),
        "stage_form": StageForm(initial={"stage": assessment.suggested}),
        "sections": _sections(request=request, store=store, month=month),
    }
    return render(request, "channels/stores/store_detail.html", context)


@login_required
@require_POST
def store_reveal(request: HttpRequest, store_id: str) -> HttpResponse:
    store = _store(request, store_id, Action.VIEW_PII)
    form = ReasonForm(request.POST)
    context = {"store": store}
    if not form.is_valid():
        return part_refused(
            request,
            form=form,
            template="channels/stores/_reveal.html",
            context=context,
            page=reverse("channels:stores-detail", args=[store.store_id]),
        )
    full = reveal_contact(
        actor=request.user,
        store_id=store.store_id,
        reason=form.cleaned_data["reason"],
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    return render(request, "channels/stores/_reveal.html", context | {"full": full})


@login_required
@require_POST
def store_stage(request: HttpRequest, store_id: str) -> HttpResponse:
    store = _store(request, store_id, Action.CHANGE)
    form = StageForm(request.POST)
    page = reverse("channels:stores-detail", args=[store.store_id])
    if form.is_valid():
        try:
            change_stage(
                actor=request.user,
                store_id=store.store_id,
                stage=form.cleaned_data["stage"],
                reason=form.cleaned_data["reason"],
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The partner stage was changed."))
            return redirect(page + "#stage")
    messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(page + "#stage")
