"""Applies the org scope a user picked in the switcher to every query of the request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SCOPE_SESSION_KEY = "quanwang_scope_id"


class ActiveScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        scope_id = request.session.get(SCOPE_SESSION_KEY) if hasattr(request, "session") else None
        if user.is_authenticated and scope_id is not None:
            setattr(user, "quanwang_scope_id", scope_id)  # noqa: B010
        return self.get_response(request)
