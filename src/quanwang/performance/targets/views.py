"""Pages of performance.targets: a period's targets in my scope as a tree with their progress;
one target with its children, history and the set / decompose / change forms. Another scope's
target is 404; a staff member (Reach.OWN) sees only their own targets."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant
from quanwang.performance.actuals.store import current
from quanwang.performance.choices import PeriodKind
from quanwang.performance.models.targets import Target, TargetChange, TargetWarning
from quanwang.performance.periods import PeriodError, parse, period_of
from quanwang.performance.targets import kpis
from quanwang.performance.targets.forms import ChangeForm, DecomposeForm, SetForm
from quanwang.performance.targets.progress import attainments, progress
from quanwang.performance.targets.services import change_target, decompose, set_target
from quanwang.performance.targets.services.common import require_target

#: Rows shown on one page of the tree (the rest is narrowed by the period and the scope).
LIMIT = 2000


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.TARGET, action=action):
        raise Http404


def _form_error(form: Any, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _period(request: HttpRequest) -> Any:
    code = request.GET.get("period", "")
    if code:
        try:
            return parse(code)
        except PeriodError:
            raise Http404 from None
    version = current()
    from django.utils import timezone

    return period_of(PeriodKind.QUARTER, version.as_of if version else timezone.localdate())


def _kpi_name(code: str) -> str:
    found = kpis.find(code)
    return str(found.name) if found else code


@login_required
@require_http_methods(["GET", "POST"])
def tree(request: HttpRequest) -> HttpResponse:
    """The period's targets in my scope, unit by unit (children under their parent)."""
    _guard(request)
    period = _period(request)
    version = current()
    rows = list(
        Target.objects.restrict(request.user)
        .filter(period=period.code)
        .select_related("org_unit", "staff")
        .order_by("kpi", "org_unit__path", "grain", "key")[:LIMIT]
    )
    found = attainments(period=period.code, version=version) if rows else {}
    warned = (
        set(
            TargetWarning.objects.filter(target__in=rows, day=version.as_of).values_list(
                "target_id", flat=True
            )
        )
        if version and rows
        else set()
    )
    shown = [
        {
            "target": t,
            "kpi_name": _kpi_name(t.kpi),
            "depth": t.org_unit.path.count("/") - 2 + (0 if t.grain == "org_unit" else 1),
            "progress": found.get((t.kpi, t.grain, t.key)),
            "warned": t.pk in warned,
        }
        for t in rows
    ]
    can_set = has_grant(request.user, resource=Resource.TARGET, action=Action.ADD)
    form = SetForm(request.POST or None, initial={"period": period.code}) if can_set else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            data = form.cleaned_data
            try:
                made = set_target(
                    kpi=data["kpi"],
                    period=data["period"],
                    grain=data["grain"],
                    key=data["key"],
                    value=data["value"],
                    deadline=data["deadline"],
                    by=request.user,
                    reason=data["reason"],
                )
            except NotFound:
                form.add_error("key", str(NotFound().message))
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                return redirect("performance:targets-detail", pk=made.pk)
    return render(
        request,
        "performance/targets/tree.html",
        {"period": period, "rows": shown, "version": version, "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One target: its progress, children, history; decompose and change it."""
    _guard(request)
    try:
        target = require_target(request.user, target_id=pk, action=Action.VIEW)
    except NotFound:
        raise Http404 from None
    may_change = Target.objects.restrict(request.user, Action.CHANGE).filter(pk=pk).exists()
    change_form = ChangeForm(
        request.POST if request.POST.get("form") == "change" else None,
        initial={"expected_before": f"{target.value.normalize():f}", "value": target.value},
    )
    decompose_form = DecomposeForm(
        request.POST if request.POST.get("form") == "decompose" else None
    )
    if request.method == "POST":
        if not may_change:
            raise Http404
        try:
            if request.POST.get("form") == "change" and change_form.is_valid():
                data = change_form.cleaned_data
                change_target(
                    target=target,
                    value=data["value"],
                    absorb=data["absorb"],
                    sibling=data["sibling"],
                    by=request.user,
                    reason=data["reason"],
                    expected_before=data["expected_before"],
                )
                return redirect("performance:targets-detail", pk=pk)
            if request.POST.get("form") == "decompose" and decompose_form.is_valid():
                manual = decompose_form.manual_values()
                if decompose_form.is_valid():
                    data = decompose_form.cleaned_data
                    decompose(
                        parent=target,
                        rule=data["rule"],
                        into=data["into"],
                        basis_kpi=data["basis_kpi"] or None,
                        manual=manual or None,
                        by=request.user,
                        reason=data["reason"],
                    )
                    return redirect("performance:targets-detail", pk=pk)
        except NotFound:
            raise Http404 from None
        except ServiceError as exc:
            _form_error(
                change_form if request.POST.get("form") == "change" else decompose_form, exc
            )
    children = list(
        Target.objects.restrict(request.user)
        .filter(parent=target)
        .select_related("org_unit", "staff")
        .order_by("key")
    )
    return render(
        request,
        "performance/targets/detail.html",
        {
            "target": target,
            "kpi_name": _kpi_name(target.kpi),
            "period": parse(target.period),
            "progress": progress(target=target),
            "version": current(),
            "children": [(c, progress(target=c)) for c in children],
            "history": TargetChange.objects.filter(target=target).select_related("changed_by")[:50],
            "may_change": may_change,
            "change_form": change_form,
            "decompose_form": decompose_form,
        },
    )
