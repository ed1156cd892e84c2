"""Console pages of the work part: the visits due (phone first), the visit form and a visit,
the account managers (grades against the seeds' proportions, violations), a manager's
portfolio and appraisal facts with the rows behind each (XLSX), and the visit plan. Thin: the
rules are in services."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Staff
from quanwang.core.querysets import has_grant
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes
from quanwang.enterprise.models import EnterpriseVisit
from quanwang.enterprise.persons.pii import masked_name
from quanwang.enterprise.work import forms as work_forms
from quanwang.enterprise.work.choices import AppraisalMeasure, DueState
from quanwang.enterprise.work.links import account_url
from quanwang.enterprise.work.services import appraisal as appraisal_services
from quanwang.enterprise.work.services import grades, rules, visit_log
from quanwang.enterprise.work.services import plan as plan_services
from quanwang.enterprise.work.services import portfolio as portfolio_services

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Rows a facts page shows; the XLSX file holds them all.
FACT_PAGE_ROWS = 200


def _guard(request: HttpRequest, resource: Resource, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=resource, action=action):
        raise Http404


def _form_error(form: Any, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _due_rows(items: list[plan_services.DueVisit]) -> list[dict[str, Any]]:
    return [{"d": d, "url": account_url(d.account)} for d in items]


@login_required
def due(request: HttpRequest) -> HttpResponse:
    """The accounts due or overdue a visit in the user's reach, the most overdue first."""
    _guard(request, Resource.ENTERPRISE_VISIT)
    today = timezone.localdate()
    items = plan_services.visits_due(user=request.user, on=today)
    page = Paginator(_due_rows(items), PAGE_SIZE).get_page(request.GET.get("page"))
    overdue = sum(1 for d in items if d.state == DueState.OVERDUE)
    return render(
        request,
        "enterprise/work/due.html",
        {
            "page": page,
            "today": today,
            "counts": [
                (DueState.OVERDUE, overdue),
                (DueState.DUE_TODAY, len(items) - overdue),
            ],
            "intervals": rules.current_intervals(),
            "can_log": has_grant(
                request.user, resource=Resource.ENTERPRISE_VISIT, action=Action.ADD
            ),
            "recent": EnterpriseVisit.objects.restrict(request.user)
            .filter(visitor__user=request.user)
            .select_related("account")
            .order_by("-visited_on", "-pk")[:5],
        },
    )


def _person_choices(*, user: Any, account: Any) -> list[tuple[int, str]]:
    return [
        (person.pk, f"{masked_name(person)} · {roles}")
        for person, roles in visit_log.persons_of(user=user, account=account)
    ]


@login_required
def visit_new(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Log a visit to an account (phone first)."""
    _guard(request, Resource.ENTERPRISE_VISIT, Action.ADD)
    try:
        account = visit_log.visitable_account(user=request.user, account_pk=account_pk)
    except NotFound as exc:
        raise Http404 from exc
    today = timezone.localdate()
    persons = _person_choices(user=request.user, account=account)
    if request.method == "POST":
        form = work_forms.VisitForm(request.POST, persons=persons)
        if form.is_valid():
            data = form.cleaned_data
            try:
                logged = visit_log.log_visit(
                    user=request.user,
                    account_pk=account.pk,
                    data=visit_log.VisitInput(
                        visited_on=data["visited_on"],
                        purpose=data["purpose"],
                        outcome=data["outcome"],
                        next_step=data.get("next_step") or "",
                        follow_up_on=data.get("follow_up_on"),
                        persons_met=data.get("persons_met") or [],
                    ),
                    idempotency_key=data["idempotency_key"],
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
                return redirect("enterprise:work-visit-detail", logged.visit.pk)
    else:
        form = work_forms.VisitForm(
            initial={"idempotency_key": uuid.uuid4(), "visited_on": today}, persons=persons
        )
    last = (
        EnterpriseVisit.objects.restrict(request.user)
        .filter(account=account)
        .order_by("-visited_on", "-pk")
        .first()
    )
    return render(
        request,
        "enterprise/work/visit_form.html",
        {
            "account": account,
            "account_url": account_url(account),
            "form": form,
            "last": last,
            "interval": plan_services.visit_interval_days(grade=account.grade),
            "manager_grade": grades.grade_of(account.account_manager),
        },
    )


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Resource.ENTERPRISE_VISIT)
    visit = (
        EnterpriseVisit.objects.restrict(request.user)
        .select_related("account", "visitor", "logged_for")
        .filter(pk=pk)
        .first()
    )
    if visit is None:
        raise Http404
    return render(
        request,
        "enterprise/work/visit_detail.html",
        {
            "visit": visit,
            "account_url": account_url(visit.account),
            "persons": [masked_name(p) for p in visit.persons_met.order_by("pk")],
            "can_log": visit_log.visitable_accounts(user=request.user, action=Action.ADD)
            .filter(pk=visit.account_id)
            .exists(),
        },
    )


def _subtree_reader(user: Any) -> bool:
    """Whether `user` reads accounts over a unit (not only their own, as an account manager)."""
    return has_grant(
        user, resource=Resource.ENTERPRISE_ACCOUNT, action=Action.VIEW, only=Reach.SUBTREE
    )


@login_required
def managers(request: HttpRequest) -> HttpResponse:
    """The account managers in reach: the grade distribution against the seeds' proportions,
    each manager's portfolio summary, and the A/B accounts led by a manager of too low a
    grade."""
    _guard(request, Resource.ENTERPRISE_ACCOUNT)
    if not _subtree_reader(request.user):
        return redirect("enterprise:work-my-portfolio")
    return render(
        request,
        "enterprise/work/managers.html",
        {
            "distribution": grades.distribution(user=request.user),
            "lines": portfolio_services.summary(user=request.user, limit=200),
            "violation_count": grades.violations(user=request.user).count(),
        },
    )


@login_required
def violations(request: HttpRequest) -> HttpResponse:
    _guard(request, Resource.ENTERPRISE_ACCOUNT)
    found = grades.violations(user=request.user)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "enterprise/work/violations.html",
        {
            "page": page,
            "rows": [
                {
                    "account": a,
                    "url": account_url(a),
                    "lead_grade": grades.grade_of(a.account_manager),
                }
                for a in page
            ],
        },
    )


def _staff(request: HttpRequest, staff_pk: int) -> Staff:
    staff = portfolio_services.portfolio_staff(user=request.user).filter(pk=staff_pk).first()
    if staff is None:
        raise Http404
    return staff


@login_required
def my_portfolio(request: HttpRequest) -> HttpResponse:
    _guard(request, Resource.ENTERPRISE_ACCOUNT)
    staff = visit_log.staff_of(request.user)
    if staff is None:
        # A login no staff record names (an administrator links them on the staff page):
        # the page says so rather than answering "not found" to a link on its own home page.
        return render(request, "enterprise/work/no_staff.html")
    return portfolio(request, staff.pk, mine=True)


@login_required
def portfolio(request: HttpRequest, staff_pk: int, *, mine: bool = False) -> HttpResponse:
    _guard(request, Resource.ENTERPRISE_ACCOUNT)
    if mine:
        staff = Staff.objects.select_related("org_unit").get(pk=staff_pk)
    else:
        staff = _staff(request, staff_pk)
    today = timezone.localdate()
    found = portfolio_services.portfolio(user=request.user, staff=staff, on=today)
    may_grade = grades.gradable_staff(user=request.user).filter(pk=staff.pk).exists()
    return render(
        request,
        "enterprise/work/portfolio.html",
        {
            "p": found,
            "mine": mine,
            "today": today,
            "accounts": [
                {
                    "a": a,
                    "url": account_url(a),
                    "lead": a.pk in found.lead_of,
                    "violation": a in found.violations,
                    "revenue_yuan": (
                        found.revenue_by_account[a.enterprise_id] / 100
                        if a.enterprise_id in found.revenue_by_account
                        else None
                    ),
                }
                for a in found.accounts
            ],
            "due": _due_rows(found.due),
            "care": [
                {"m": m, "name": masked_name(m.person), "kind": m.get_kind_display()}
                for m in found.care
            ],
            "revenue_yuan": found.revenue_fen / 100 if found.revenue_fen is not None else None,
            "opportunity_yuan": found.opportunity_amount_fen / 100,
            "history": grades.history(user=request.user, staff=staff)[:20],
            "grade_form": work_forms.GradeForm(
                initial={"grade": found.grade or None, "effective_on": today}
            )
            if may_grade
            else None,
            "month": today.strftime("%Y-%m"),
        },
    )


@login_required
@require_POST
def grade(request: HttpRequest, staff_pk: int) -> HttpResponse:
    _guard(request, Resource.ENTERPRISE_ACCOUNT, Action.CHANGE)
    staff = _staff(request, staff_pk)
    form = work_forms.GradeForm(request.POST)
    if form.is_valid():
        try:
            moved = grades.set_manager_grade(
                actor=request.user,
                staff_pk=staff.pk,
                grade=form.cleaned_data["grade"],
                reason=form.cleaned_data["reason"],
                effective_on=form.cleaned_data["effective_on"],
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            if moved.change is None:
                messages.info(request, _("The manager already has this grade."))
            else:
                messages.success(request, _("Manager grade saved."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("enterprise:work-portfolio", staff.pk)


def _month(request: HttpRequest) -> str:
    asked = request.GET.get("month", "").strip()
    try:
        appraisal_services.month_bounds(asked)
    except ServiceError:
        if asked:
            messages.warning(request, _("A month is written YYYY-MM; showing this month."))
        return timezone.localdate().strftime("%Y-%m")
    return asked


@login_required
def appraisal(request: HttpRequest, staff_pk: int) -> HttpResponse:
    _guard(request, Resource.ENTERPRISE_ACCOUNT)
    staff = _staff(request, staff_pk)
    month = _month(request)
    facts = appraisal_services.appraisal_facts(staff=staff, month=month)
    return render(
        request,
        "enterprise/work/appraisal.html",
        {
            "staff": staff,
            "grade": grades.grade_of(staff),
            "month": month,
            "f": facts,
            "won_yuan": facts["won_amount_fen"] / 100
            if facts["won_amount_fen"] is not None
            else None,
            "revenue_yuan": facts["revenue_fen"] / 100
            if facts["revenue_fen"] is not None
            else None,
            "previous_yuan": facts["revenue_previous_fen"] / 100
            if facts["revenue_previous_fen"] is not None
            else None,
            "measures": AppraisalMeasure,
        },
    )


def _facts(request: HttpRequest, staff_pk: int, measure: str) -> Any:
    _guard(request, Resource.ENTERPRISE_ACCOUNT)
    staff = _staff(request, staff_pk)
    if measure not in AppraisalMeasure.values:
        raise Http404
    month = _month(request)
    found = appraisal_services.fact_rows(staff=staff, month=month, measure=measure)
    return staff, month, found


@login_required
def appraisal_facts(request: HttpRequest, staff_pk: int, measure: str) -> HttpResponse:
    staff, month, found = _facts(request, staff_pk, measure)
    return render(
        request,
        "enterprise/work/facts.html",
        {
            "staff": staff,
            "month": month,
            "measure": measure,
            "label": AppraisalMeasure(measure).label,
            "facts": found,
            "rows": found.rows[:FACT_PAGE_ROWS],
            "page_rows": FACT_PAGE_ROWS,
        },
    )


@login_required
def appraisal_facts_xlsx(request: HttpRequest, staff_pk: int, measure: str) -> HttpResponse:
    staff, month, found = _facts(request, staff_pk, measure)
    if not found.available:
        raise Http404
    book = new_workbook()
    sheet = book.active
    sheet.title = month
    append_row(sheet, [str(h) for h in found.header])
    for row in found.rows:
        append_row(sheet, row)
    response = HttpResponse(workbook_bytes(book), content_type=XLSX)
    filename = f"appraisal-{staff.employee_no}-{measure}-{month}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def plan(request: HttpRequest) -> HttpResponse:
    """The visit plan in force (days between visits per grade) and, for the province, the form
    that saves the next version."""
    _guard(request, Resource.ENTERPRISE_RULES)
    current = rules.current_rule_set()
    may_set = rules.may_set_rules(request.user)
    form = None
    if may_set:
        if request.method == "POST":
            form = work_forms.PlanForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    rules.save_rule_set(
                        actor=request.user,
                        days={
                            "A": data["interval_a"],
                            "B": data["interval_b"],
                            "C": data["interval_c"],
                            "": data["interval_ungraded"],
                        },
                        note=data.get("note") or "",
                        based_on=data.get("based_on"),
                    )
                except ServiceError as exc:
                    _form_error(form, exc)
                else:
                    messages.success(request, _("Visit plan saved as a new version."))
                    return redirect("enterprise:work-visit-plan")
        else:
            form = work_forms.PlanForm(
                initial={
                    "based_on": current.version,
                    "interval_a": current.interval_a,
                    "interval_b": current.interval_b,
                    "interval_c": current.interval_c,
                    "interval_ungraded": current.interval_ungraded,
                }
            )
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "enterprise/work/plan.html",
        {
            "current": current,
            "versions": rules.visible_rule_sets(request.user)[:20],
            "form": form,
        },
    )
