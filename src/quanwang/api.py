"""The /api/v1 root: token authentication, error shapes, and every app's router."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.security import HttpBearer

from quanwang.campaigns.api import router as campaigns_router
from quanwang.channels.stores.api import router as stores_router
from quanwang.core.api import router as core_router
from quanwang.core.api_schema import document_errors, validation_error_body
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.services.tokens import TokenError, TokenProblem, authenticate
from quanwang.enterprise.api import router as enterprise_router
from quanwang.performance.api import router as performance_router


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


class QuanwangAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        document_errors(schema)
        return schema


api = QuanwangAPI(
    title="Quanwang API",
    version="1",
    description="Quanwang (全网) REST API. Send 'Authorization: Bearer <token>'.",
    auth=TokenAuth(),
    urls_namespace="api",
)
api.add_router("/", core_router)
api.add_router("/", campaigns_router)
api.add_router("/", stores_router)
api.add_router("/enterprise/", enterprise_router)
api.add_router("/performance/", performance_router)


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


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """pydantic's errors as translated sentences naming each field, not its English dicts."""
    return api.create_response(request, validation_error_body(exc.errors), status=422)


# ninja's own English messages that reach callers, said in the caller's language.
UNREADABLE_BODY = "Cannot parse request body"


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = exc.message
    if message.startswith(UNREADABLE_BODY):
        message = _("The request body is not valid JSON.")
    elif type(exc) is AuthenticationError:
        message = _("The credentials are missing or wrong.")
    elif type(exc) is AuthorizationError:
        message = _("You may not do this.")
    return api.create_response(request, {"detail": message}, status=exc.status_code)
