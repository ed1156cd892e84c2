"""The staff member's own page (我的业绩)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from quanwang.core.choices import Action, Resource
from quanwang.core.querysets import has_grant
from quanwang.performance.me.services import my_performance


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    # Offered to every login that reads targets, its own at least (a partner store's does not).
    if not has_grant(request.user, resource=Resource.TARGET, action=Action.VIEW):
        raise Http404
    return render(request, "performance/me/mine.html", {"me": my_performance(user=request.user)})
