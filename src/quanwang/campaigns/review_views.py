"""Console pages of the opt-out review list (退订复核): thin, the rules are in `reviews`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.campaigns import reviews
from quanwang.campaigns.choices import ReviewState
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant

PAGE_SIZE = 50


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.OPT_OUT_REVIEW, action=action):
        raise Http404


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    _guard(request)
    decided = request.GET.get("decided") == "1"
    found = reviews.reply_reviews(user=request.user, pending=not decided)
    return render(
        request,
        "campaigns/reviews.html",
        {
            "page": Paginator(found, PAGE_SIZE).get_page(request.GET.get("page")),
            "decided": decided,
            "can_decide": has_grant(
                request.user, resource=Resource.OPT_OUT_REVIEW, action=Action.CHANGE
            ),
            "can_open_customer": has_grant(
                request.user, resource=Resource.CUSTOMER, action=Action.VIEW
            ),
            "opt_out": ReviewState.OPTED_OUT,
            "dismiss": ReviewState.DISMISSED,
        },
    )


@login_required
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    try:
        review = reviews.decide_review(
            actor=request.user, pk=pk, decision=request.POST.get("decision", "")
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(customer)s: %(decision)s.")
            % {"customer": review.subscriber_id, "decision": ReviewState(review.state).label},
        )
    return redirect(reverse("campaigns:reviews"))
