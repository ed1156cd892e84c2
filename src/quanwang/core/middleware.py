"""Request middleware of the console: the active org scope, the login's lifetime, and the
Content-Security-Policy header."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from quanwang.core.choices import Action
from quanwang.core.models import RoleAssignment
from quanwang.core.permissions import GRANTS

SCOPE_SESSION_KEY = "quanwang_scope_id"
LIFETIME_SESSION_KEY = "quanwang_lifetime"
PERSONAL_DATA_ACTIONS = frozenset({Action.VIEW_PII, Action.EXPORT_PII})
CSP_HEADER = "Content-Security-Policy"


class ActiveScopeMiddleware:
    """Applies the org scope a user picked in the switcher to every query of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        scope_id = request.session.get(SCOPE_SESSION_KEY) if hasattr(request, "session") else None
        if user.is_authenticated and scope_id is not None:
            setattr(user, "quanwang_scope_id", scope_id)  # noqa: B010
        return self.get_response(request)


def reveals_personal_data(user: Any) -> bool:
    """Whether any of the user's roles may reveal or export personal data, as the one
    permission table says; superusers may do everything."""
    if user.is_superuser:
        return True
    roles = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    return any(
        PERSONAL_DATA_ACTIONS & set(actions)
        for role in roles
        for actions in GRANTS.get(role, {}).values()
    )


def session_seconds(user: Any) -> int:
    """How long a console login of `user` lasts: QUANWANG_PII_SESSION_HOURS for those who can
    reveal personal data (when shorter), QUANWANG_SESSION_HOURS for everybody else."""
    general = int(settings.SESSION_COOKIE_AGE)
    if reveals_personal_data(user):
        return min(general, int(settings.QUANWANG_PII_SESSION_SECONDS))
    return general


class SessionLifetimeMiddleware:
    """Sets a login's lifetime on its first request, counted from then (not renewed by use):
    one query per login, none per request after it. A role gained during a session counts
    from the next login."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if (
            session is not None
            and user is not None
            and user.is_authenticated
            and LIFETIME_SESSION_KEY not in session
        ):
            seconds = session_seconds(user)
            # A date, not a number of seconds: Django counts seconds again from each save.
            session.set_expiry(timezone.now() + timedelta(seconds=seconds))
            session[LIFETIME_SESSION_KEY] = seconds
        return self.get_response(request)


def policy_header(directives: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    """Adds settings.SECURE_CSP as the Content-Security-Policy header of every response that
    has none. A static policy (no nonces: no template has inline code), so a few lines here
    rather than a dependency; Django 6's own middleware reads the same setting."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = policy_header(getattr(settings, "SECURE_CSP", {}))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header and CSP_HEADER not in response:
            response[CSP_HEADER] = self.header
        return response
