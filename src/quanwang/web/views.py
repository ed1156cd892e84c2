"""Console shell: home, capability pages, org-scope switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from quanwang.channels.visits import sections as visit_sections
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.middleware import SCOPE_SESSION_KEY
from quanwang.core.models import Job
from quanwang.core.navigation import Capability, items_for
from quanwang.core.querysets import has_grant
from quanwang.core.services.scope import choose_scope
from quanwang.enterprise.sections import Page, render_sections
from quanwang.web import home as home_figures


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    may_see_jobs = has_grant(user, resource=Resource.JOB, action=Action.VIEW)
    context = {
        # Only the capabilities with a page this user may open: no card promises a page
        # that does not exist or that the role may not open.
        "capabilities": [(c, items) for c, items in items_for(user).items() if items],
        "may_see_figures": has_grant(user, resource=Resource.INSIGHT, action=Action.VIEW),
        "may_run_pipeline": has_grant(user, resource=Resource.INSIGHT, action=Action.ADD),
        "figures": home_figures.key_figures(user=user),
        "campaigns": home_figures.campaign_figures(user=user),
        "todos": home_figures.todo_figures(user=user),
        # A partner store's login: its own stores (channels.visits), nothing of the operator's.
        "partner_home": visit_sections.home_section(user=user),
        # An account manager's day (enterprise): care moments and visits due, and the like.
        "enterprise_sections": render_sections(page=Page.HOME, request=request, user=user),
        "recent_jobs": Job.objects.restrict(user).select_related("org_unit")[:5]
        if may_see_jobs
        else [],
    }
    return render(request, "web/home.html", context)


@login_required
def capability(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        chosen = Capability(slug)
    except ValueError as exc:
        raise Http404 from exc
    items = items_for(request.user)[chosen]
    return render(request, "web/capability.html", {"capability": chosen, "items": items})


@login_required
@require_POST
def switch_scope(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("scope", "")
    try:
        assignment = choose_scope(
            user=request.user, assignment_id=int(raw) if raw.isdigit() else None
        )
    except NotFound as exc:
        raise Http404 from exc
    if assignment is None:
        request.session.pop(SCOPE_SESSION_KEY, None)
    else:
        request.session[SCOPE_SESSION_KEY] = assignment.pk
    target = request.POST.get("next", "")
    # A path on this site only: anything else (another host, a view name, a control
    # character) would be followed or looked up as a URL name.
    if (
        not target.startswith("/")
        or not target.isprintable()
        or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        target = "/"
    return HttpResponseRedirect(target)
