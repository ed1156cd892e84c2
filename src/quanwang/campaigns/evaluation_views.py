"""The campaign page's evaluation (事后评估): starting it as a background job, the card that
follows the job, and the rejected rows of a response import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from quanwang.campaigns import services
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.jobs import notice_lapsed_jobs


def _campaign(request: HttpRequest, pk: int, action: Action = Action.VIEW) -> Any:
    """The campaign, if the user may act on it so; 404 otherwise (another scope's campaign is
    not said to exist)."""
    if not has_grant(request.user, resource=Resource.CAMPAIGN, action=action):
        raise Http404
    try:
        return services.get_campaign(user=request.user, pk=pk, action=action)
    except ServiceError as exc:
        raise Http404 from exc


@login_required
@require_POST
def evaluation_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Start the evaluation; a second request while it is queued or running gets the same job
    (services.start_evaluation). Back to the campaign's card, which follows the job."""
    campaign = _campaign(request, pk, Action.CHANGE)
    try:
        services.start_evaluation(
            actor=request.user, campaign=campaign, comment=request.POST.get("comment", "").strip()
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("campaigns:detail", args=[campaign.pk]) + "#evaluation")


@login_required
@require_GET
def evaluation_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The evaluation card alone, polled by htmx while the job runs. Once the job has ended
    the whole page reloads: the campaign's state, its steps and its response form change."""
    campaign = _campaign(request, pk)
    notice_lapsed_jobs()
    panel = services.evaluation_panel(campaign=campaign, user=request.user)
    if request.headers.get("HX-Request") and not panel.live:
        response = HttpResponse()
        response["HX-Refresh"] = "true"
        return response
    return render(
        request, "campaigns/_evaluation.html", {"campaign": campaign, "evaluation": panel}
    )


@login_required
@require_GET
def responses_rejected(request: HttpRequest, pk: int, name: str) -> FileResponse:
    """The rejected rows of a response import, named after the file the user uploaded; for
    those who may see the campaign."""
    campaign = _campaign(request, pk)
    found = services.rejected_rows(campaign=campaign, name=name)
    if found is None:
        raise Http404
    return FileResponse(found.path.open("rb"), as_attachment=True, filename=found.download_name)
