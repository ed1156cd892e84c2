"""Console pages of the commission statements (酬金结算单): thin, the rules are in services.

Statements are read through `restrict`: staff see their units' stores, a channel partner its
own stores only; anything else answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.channels.commissions import exports
from quanwang.channels.commissions.choices import StatementStatus
from quanwang.channels.commissions.forms import RunForm, StatementFilterForm
from quanwang.channels.commissions.services import facts, runs
from quanwang.channels.commissions.services import lines as line_services
from quanwang.channels.models import CommissionRun, CommissionStatement
from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant

PAGE_SIZE = 50
LINES_PAGE = 100


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.COMMISSION, action=action):
        raise Http404


def partner_only(user: Any) -> bool:
    """Whether `user` reads statements as a channel partner: their own stores' alone."""
    return not has_grant(user, resource=Resource.COMMISSION, action=Action.VIEW, only=Reach.SUBTREE)


def _statement(request: HttpRequest, pk: int) -> CommissionStatement:
    try:
        return runs.get_statement(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def statement_list(request: HttpRequest) -> HttpResponse:
    _guard(request)
    visible = CommissionStatement.objects.restrict(request.user).select_related(
        "store", "store__org_unit"
    )
    months = sorted(visible.order_by().values_list("month", flat=True).distinct(), reverse=True)
    staff = not partner_only(request.user)
    if staff:
        runs_months = set(CommissionRun.objects.values_list("month", flat=True))
        months = sorted(set(months) | runs_months, reverse=True)
    form = StatementFilterForm(request.GET or None, months=months)
    chosen = form.data.get("month") if form.is_bound else None
    month = chosen if chosen in months else (months[0] if months and not form.is_bound else "")
    shown = visible.filter(month=month) if month else visible
    if form.is_valid():
        if form.cleaned_data["status"]:
            shown = shown.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["store"].strip():
            text = form.cleaned_data["store"].strip()
            shown = shown.filter(store__store_id__icontains=text) | shown.filter(
                store__name__icontains=text
            )
    page = Paginator(shown.order_by("-month", "store__store_id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    can_approve = staff and has_grant(
        request.user, resource=Resource.COMMISSION, action=Action.APPROVE
    )
    to_approve = (
        CommissionStatement.objects.restrict(request.user, Action.APPROVE)
        .filter(month=month, status=StatementStatus.COMPUTED)
        .count()
        if can_approve and month
        else 0
    )
    return render(
        request,
        "channels/commissions/statement_list.html",
        {
            "form": form,
            "page": page,
            "month": month,
            "staff": staff,
            "run": CommissionRun.objects.filter(month=month).select_related("job").first()
            if staff and month
            else None,
            "run_form": RunForm(initial={"month": month})
            if staff and has_grant(request.user, resource=Resource.COMMISSION, action=Action.ADD)
            else None,
            "to_approve": to_approve,
            "can_read_rules": has_grant(
                request.user, resource=Resource.CHANNEL_RULES, action=Action.VIEW
            ),
        },
    )


@login_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    statement = _statement(request, pk)
    partner = partner_only(request.user)
    offset = _page_number(request) * LINES_PAGE
    money = line_services.statement_lines(statement, offset=offset, limit=LINES_PAGE + 1)
    notes = line_services.statement_lines(statement, notes=True)
    can_approve = (
        not partner
        and statement.status == StatementStatus.COMPUTED
        and CommissionStatement.objects.restrict(request.user, Action.APPROVE)
        .filter(pk=pk)
        .exists()
        and statement.computed_by_id != request.user.pk
    )
    return render(
        request,
        "channels/commissions/statement_detail.html",
        {
            "statement": statement,
            "partner": partner,
            "lines": [_shown(line) for line in money[:LINES_PAGE]],
            "notes": [_shown(line) for line in notes],
            "page_number": offset // LINES_PAGE + 1,
            "has_next": len(money) > LINES_PAGE,
            "has_previous": offset > 0,
            "can_approve": can_approve,
            "own_statement": statement.computed_by_id == request.user.pk,
        },
    )


def _page_number(request: HttpRequest) -> int:
    try:
        return max(0, int(request.GET.get("page", "1")) - 1)
    except ValueError:
        return 0


def _shown(line: dict[str, Any]) -> dict[str, Any]:
    return {
        **line,
        "kind_label": line_services.kind_label(line["kind"]),
        "computation": line_services.computation(line),
    }


@login_required
def line_detail(request: HttpRequest, pk: int, line_no: int) -> HttpResponse:
    """The facts behind one line: the sale, its refunds and reversals, the line's churn and
    revenue, the rule; a partner sees no subscriber."""
    _guard(request)
    statement = _statement(request, pk)
    line = line_services.statement_line(statement, line_no)
    if line is None:
        raise Http404
    partner = partner_only(request.user)
    found = facts.sale_facts(sale_id=line["sale_id"]) if line["sale_id"] else {}
    if found.get("sale") and found["sale"]["store_id"] != statement.store.store_id and partner:
        found["sale"] = None  # the sale moved to another store: not this partner's to read
    if partner:
        line = line_services.partner_view(line)
        found = {**found, "usage": []}
        if found.get("sale"):
            found["sale"] = line_services.partner_view(found["sale"])
        found["cancels"] = [line_services.partner_view(c) for c in found.get("cancels", [])]
    return render(
        request,
        "channels/commissions/line_detail.html",
        {"statement": statement, "line": _shown(line), "facts": found, "partner": partner},
    )


@login_required
def statement_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    statement = _statement(request, pk)
    partner = partner_only(request.user) or request.GET.get("view") == "partner"
    data = exports.statement_xlsx(statement, partner=partner)
    suffix = "partner.xlsx" if partner else "xlsx"
    return _download(
        data,
        exports.export_name(statement, suffix),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@login_required
def statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    statement = _statement(request, pk)
    data = exports.statement_pdf(statement, partner=partner_only(request.user))
    return _download(data, exports.export_name(statement, "pdf"), "application/pdf")


def _download(data: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def run_month(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.ADD)
    form = RunForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("channels:commissions-list")
    try:
        job = runs.start_run(actor=request.user, month=form.cleaned_data["month"])
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("channels:commissions-list")
    return redirect("core:job-detail", pk=job.pk)


@login_required
@require_POST
def approve_statement(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.APPROVE)
    statement = _statement(request, pk)
    try:
        runs.approve_statements(
            actor=request.user, month=statement.month, statement_ids=[statement.pk]
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The statement is approved and frozen."))
    return redirect("channels:commissions-detail", pk=pk)


@login_required
@require_POST
def approve_month(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.APPROVE)
    form = RunForm(request.POST)
    if not form.is_valid():
        raise Http404
    month = form.cleaned_data["month"]
    try:
        count = runs.approve_statements(actor=request.user, month=month)
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(n)d statements of %(month)s approved and frozen.") % {"n": count, "month": month},
        )
    return redirect(f"{_list_url()}?month={month}")


def _list_url() -> str:
    from django.urls import reverse

    return reverse("channels:commissions-list")
