"""The /api/v1 root: token authentication, error shapes, and every app's router."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import HttpBearer

from quanwang.campaigns.api import router as campaigns_router
from quanwang.core.api import router as core_router
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.services.tokens import TokenError, TokenProblem, authenticate


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header, "")
        if not header.lower().startswith("bearer "):
            raise TokenError(TokenProblem.MISSING)
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate(secret=token.strip())
        request.user = user
        return user


api = NinjaAPI(
    title="Quanwang API",
    version="1",
    description="Quanwang (全网) REST API. Send 'Authorization: Bearer <token>'.",
    auth=TokenAuth(),
    urls_namespace="api",
)
api.add_router("/", core_router)
api.add_router("/", campaigns_router)


@api.exception_handler(TokenError)
def token_error(request: HttpRequest, exc: TokenError) -> HttpResponse:
    return api.create_response(
        request, {"detail": str(exc.problem.label), "code": exc.problem.value}, status=401
    )


@api.exception_handler(NotFound)
@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": str(NotFound().message)}, status=404)


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "field": exc.field}, status=422)
