"""The composite scores' page (综合得分): every reader of boards sees how each is weighted; the
province (LEADERBOARD CHANGE) keeps them — the same service as `quanwang boards composite`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.querysets import has_grant
from quanwang.performance.boards.composites import save_composite
from quanwang.performance.kpis.catalogue import catalogue
from quanwang.performance.models import CompositeScore

#: The form's weight fields are "weight-<KPI code>": one number input a KPI, labelled with its
#: Chinese name (no code reaches the page).
WEIGHT_FIELD = "weight-"


def _posted_weights(post: Any) -> dict[str, str]:
    """The weights typed in, by KPI code; a blank or zero weight leaves the KPI out."""
    found: dict[str, str] = {}
    for name, value in post.items():
        if name.startswith(WEIGHT_FIELD) and value.strip() not in {"", "0"}:
            found[name.removeprefix(WEIGHT_FIELD)] = value.strip()
    return found


@login_required
def composites_page(request: HttpRequest) -> HttpResponse:
    if not has_grant(request.user, resource=Resource.LEADERBOARD, action=Action.VIEW):
        raise Http404
    names = {code: str(d.name) for code, d in catalogue().items()}
    rows = [
        {
            "composite": c,
            "parts": [(names.get(code, code), weight) for code, weight in c.weights.items()],
        }
        for c in CompositeScore.objects.order_by("code")
    ]
    may_change = has_grant(request.user, resource=Resource.LEADERBOARD, action=Action.CHANGE)
    return render(
        request,
        "performance/boards/composites.html",
        {"rows": rows, "may_change": may_change, "kpis": sorted(names.items(), key=lambda i: i[1])},
    )


@login_required
@require_POST
def composite_save(request: HttpRequest) -> HttpResponse:
    if not has_grant(request.user, resource=Resource.LEADERBOARD, action=Action.CHANGE):
        raise Http404
    try:
        saved = save_composite(
            user=request.user,
            code=request.POST.get("composite") or None,
            name=request.POST.get("name", ""),
            weights=_posted_weights(request.POST),
            active=request.POST.get("active", "on") == "on",
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Composite score %(name)s saved; the boards use it from the next night.")
            % {"name": saved.name},
        )
    return redirect("performance:boards-composites")
