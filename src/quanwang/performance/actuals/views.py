"""Console pages of performance.actuals: the status of the actuals (snapshot, business day,
computed at, rows, timings) and a unit's responsibilities (who holds which grid, store or
account since when; a county manager assigns store clerks). Thin: check, call a service,
render. A unit outside the user's reach is a 404."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.performance.actuals import attribution, services
from quanwang.performance.actuals.choices import ResponsibilityKind


def _require(request: HttpRequest) -> None:
    if not has_grant(request.user, resource=Resource.KPI, action=Action.VIEW):
        raise Http404


_TIMING_LABELS = {
    "fingerprints": gettext_lazy("Fingerprinting the facts"),
    "base": gettext_lazy("Reading the facts"),
    "reuse": gettext_lazy("Reusing unchanged months"),
    "rollup": gettext_lazy("Rolling up"),
    "total": gettext_lazy("In all"),
}


def _kpi_names() -> dict[str, str]:
    from quanwang.performance.kpis.catalogue import catalogue

    return {code: str(defn.name) for code, defn in catalogue().items()}


@login_required
def status_page(request: HttpRequest) -> HttpResponse:
    _require(request)
    found = services.status()
    names = _kpi_names()
    return render(
        request,
        "performance/actuals/status.html",
        {
            "status": found,
            "version": found.version,
            "recomputed": sorted((names.get(k, k), m) for k, m in found.recomputed.items()),
            "skipped": sorted((names.get(k, k), t) for k, t in found.skipped.items()),
            "timings": [
                (label, found.timings[key])
                for key, label in _TIMING_LABELS.items()
                if key in found.timings
            ],
        },
    )


def _unit(request: HttpRequest, code: str) -> OrgUnit:
    unit = OrgUnit.objects.restrict(request.user, Action.VIEW).filter(code=code).first()
    if unit is None or not has_grant(request.user, resource=Resource.KPI, action=Action.VIEW):
        raise Http404
    return unit


@login_required
def responsibilities_page(request: HttpRequest, code: str) -> HttpResponse:
    unit = _unit(request, code)
    rows = attribution.responsibilities_under(user=request.user, unit=unit)
    return render(
        request,
        "performance/actuals/responsibilities.html",
        {
            "unit": unit,
            "rows": rows,
            "kinds": ResponsibilityKind,
            "may_assign": has_grant(request.user, resource=Resource.STAFF, action=Action.CHANGE),
            "today": timezone.localdate(),
        },
    )


def _day(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ServiceError(
            _("“%(value)s” is not a day (write 2024-12-20).") % {"value": text}, field=field
        ) from exc


@login_required
@require_POST
def assign_clerk(request: HttpRequest, code: str) -> HttpResponse:
    unit = _unit(request, code)
    if not has_grant(request.user, resource=Resource.STAFF, action=Action.CHANGE):
        raise Http404
    try:
        held = attribution.assign_clerk(
            actor=request.user,
            store_id=request.POST.get("store_id", "").strip(),
            employee_no=request.POST.get("employee_no", "").strip(),
            start=_day(request.POST.get("start", "").strip(), "start"),
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("performance:actuals-responsibilities", args=[unit.code]))
    messages.success(
        request,
        _("%(name)s is a clerk of store %(store)s from %(start)s.")
        % {"name": held.staff.name, "store": held.key, "start": held.start},
    )
    return redirect(reverse("performance:actuals-responsibilities", args=[unit.code]))


@login_required
@require_POST
def end_clerk(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    unit = _unit(request, code)
    if not has_grant(request.user, resource=Resource.STAFF, action=Action.CHANGE):
        raise Http404
    try:
        attribution.end_clerk(
            actor=request.user,
            responsibility_id=pk,
            end=_day(request.POST.get("end", "").strip(), "end"),
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("performance:actuals-responsibilities", args=[unit.code]))
