"""The console's URLs plus views that fail, for the error-page tests; the error handlers are
the console's own (a URLconf's handlers are read from the URLconf itself)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path

from quanwang import urls

handler400 = urls.handler400
handler403 = urls.handler403
handler404 = urls.handler404
handler500 = urls.handler500

SECRET = "SECRET-DETAIL-IN-THE-EXCEPTION"


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation(SECRET)


def denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied(SECRET)


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET)


urlpatterns = [
    path("fail/400/", suspicious),
    path("fail/403/", denied),
    path("fail/500/", broken),
    *urls.urlpatterns,
]
