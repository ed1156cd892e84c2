"""The dispatch overview page (营销推广) and the outbound call list download: thin, the
counts are in `promotion`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from quanwang.campaigns import promotion
from quanwang.campaigns.sandbox import mode
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.CAMPAIGN, action=action):
        raise Http404


@login_required
def dispatch_overview(request: HttpRequest) -> HttpResponse:
    _guard(request)
    return render(
        request,
        "campaigns/promotion.html",
        {
            "statuses": promotion.channel_statuses(),
            "rows": promotion.daily_dispatch(user=request.user),
            "days": promotion.DAYS,
            "call_lists": promotion.call_list_steps(user=request.user),
            "can_download": has_grant(
                request.user, resource=Resource.CAMPAIGN, action=Action.CHANGE
            ),
            "demo": mode.demo_mode(),
        },
    )


@login_required
@require_GET
def call_list_xlsx(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    _guard(request, Action.CHANGE)
    try:
        found = promotion.call_list(user=request.user, campaign_id=pk, step=step)
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:promotion")
    response = HttpResponse(found.content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response
