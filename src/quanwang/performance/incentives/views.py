"""Console pages of the incentive statements (激励结算单) and rules: thin, the rules are in
services. Statements are read through `restrict`: a unit's readers see their subtree's, a
staff member (Reach.OWN) their own only; anything else answers 404."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant
from quanwang.performance.incentives import exports, presenting
from quanwang.performance.incentives.choices import RoleKind, StatementStatus
from quanwang.performance.incentives.services import rules, statements
from quanwang.performance.models import IncentiveRuleSet, IncentiveStatement

PAGE_SIZE = 50


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.INCENTIVE, action=action):
        raise Http404


def _statement(request: HttpRequest, pk: int) -> IncentiveStatement:
    try:
        return statements.get_statement(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def statement_list(request: HttpRequest) -> HttpResponse:
    _guard(request)
    months = statements.months_of(request.user)
    chosen = request.GET.get("month", "")
    month = chosen if chosen in months else (months[0] if months else "")
    shown = statements.visible(request.user).filter(month=month)
    text = request.GET.get("staff", "").strip()
    if text:
        shown = shown.filter(statements.staff_filter(text))
    status = request.GET.get("status", "")
    if status in StatementStatus.values:
        shown = shown.filter(status=status)
    page = Paginator(shown.order_by("org_unit__path", "staff__employee_no"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    can_run = has_grant(request.user, resource=Resource.INCENTIVE, action=Action.ADD)
    can_approve = has_grant(request.user, resource=Resource.INCENTIVE, action=Action.APPROVE)
    return render(
        request,
        "performance/incentives/statement_list.html",
        {
            "months": months, "month": month, "page": page, "staff_text": text,
            "status": status, "statuses": StatementStatus.choices, "can_run": can_run,
            "can_approve": can_approve,
        },
    )  # fmt: skip


@login_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    statement = _statement(request, pk)
    lines = [presenting.shown(line) for line in statement.lines.order_by("line_no")]
    return render(
        request,
        "performance/incentives/statement_detail.html",
        {
            "statement": statement,
            "lines": lines,
            "can_approve": statements.may_approve(request.user, statement),
            "computed_by_me": statement.computed_by_id == request.user.pk,
        },
    )


@login_required
def statement_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    statement = _statement(request, pk)
    return _download(
        exports.statement_xlsx(statement),
        exports.export_name(statement, "xlsx"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@login_required
def statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    statement = _statement(request, pk)
    return _download(
        exports.statement_pdf(statement), exports.export_name(statement, "pdf"), "application/pdf"
    )


def _download(data: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def approve_statement(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.APPROVE)
    statement = _statement(request, pk)
    try:
        count = statements.approve_statements(
            actor=request.user, month=statement.month, statement_ids=[statement.pk]
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        if count:
            messages.success(request, _("The statement is approved and frozen."))
        else:
            messages.info(request, _("The statement was approved already."))
    return redirect("performance:incentives-detail", pk=pk)


@login_required
@require_POST
def run_month(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.ADD)
    month = request.POST.get("month", "").strip()
    try:
        job = statements.start_run(actor=request.user, month=month)
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("performance:incentives-list")
    return redirect("core:job-detail", pk=job.pk)


# --- Rules -------------------------------------------------------------------------------


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    if not rules.readable(request.user):
        raise Http404
    # Rules are the province's policy: everyone who reads incentives reads them all.
    versions = IncentiveRuleSet.objects.order_by("role_kind", "valid_from")
    can_change = has_grant(request.user, resource=Resource.INCENTIVE, action=Action.CHANGE)
    by_kind = [
        (kind, label, [v for v in versions if v.role_kind == kind])
        for kind, label in RoleKind.choices
    ]
    return render(
        request,
        "performance/incentives/rule_list.html",
        {
            "by_kind": by_kind, "can_change": can_change, "kinds": RoleKind.choices,
            "example": json.dumps(_EXAMPLE, ensure_ascii=False, indent=2),
            "form": request.session.pop("incentive_rule_form", None),
        },
    )  # fmt: skip


_EXAMPLE = {
    "piece_rates": [{"kpi": "new_5g_plans", "yuan_per_unit": "20"}],
    "team_share": "0.3",
    "tiers": [
        {"from_attainment": "0", "multiplier": "0.8"},
        {"from_attainment": "0.8", "multiplier": "1.0"},
        {"from_attainment": "1.2", "multiplier": "1.3"},
    ],
    "deductions": [{"kpi": "complaints", "yuan_per_unit": "50"}],
    "floor": "0",
    "cap": "5000",
}


@login_required
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not rules.readable(request.user):
        raise Http404
    found = IncentiveRuleSet.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    body = rules.body_of(found)
    return render(
        request,
        "performance/incentives/rule_detail.html",
        {
            "rule_set": found,
            "body": body,
            "kpi_name": presenting.kpi_name,
            "piece_rates": [(presenting.kpi_name(r.kpi), r) for r in body.piece_rates],
            "deductions": [(presenting.kpi_name(r.kpi), r) for r in body.deductions],
            "team_percent": body.team_share * 100,
            "own_percent": body.individual_share * 100,
            "tiers": [(t.from_attainment * 100, t.multiplier) for t in body.tiers],
            "can_change": has_grant(
                request.user, resource=Resource.INCENTIVE, action=Action.CHANGE
            ),
        },
    )


def _date(value: str, field: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ServiceError(_("Give a date (YYYY-MM-DD)."), field=field) from exc


@login_required
@require_POST
def rule_add(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.CHANGE)
    data = {
        k: request.POST.get(k, "")
        for k in ("role_kind", "valid_from", "valid_until", "rules", "note")
    }
    try:
        if data["role_kind"] not in RoleKind.values:
            raise ServiceError(_("Choose a role."), field="role_kind")
        valid_from = _date(data["valid_from"], "valid_from")
        if valid_from is None:
            raise ServiceError(_("Give the first day."), field="valid_from")
        try:
            body = json.loads(data["rules"] or "null")
        except ValueError as exc:
            raise ServiceError(_("The rules are not valid JSON."), field="rules") from exc
        created = rules.add_version(
            actor=request.user, role_kind=data["role_kind"], valid_from=valid_from,
            valid_until=_date(data["valid_until"], "valid_until"), rules=body,
            note=data["note"][:300],
        )  # fmt: skip
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        # What was typed is kept for the form, so nothing is lost.
        request.session["incentive_rule_form"] = {**data, "error": exc.message, "field": exc.field}
        messages.error(request, exc.message)
        return redirect("performance:incentives-rules")
    messages.success(request, _("Version %(n)d saved.") % {"n": created.version})
    return redirect("performance:incentives-rule", pk=created.pk)


@login_required
@require_POST
def rule_end(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    try:
        rules.end_version(
            actor=request.user, pk=pk,
            valid_until=_date(request.POST.get("valid_until", ""), "valid_until"),
        )  # fmt: skip
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The version's end is changed."))
    return redirect(reverse("performance:incentives-rule", args=[pk]))
