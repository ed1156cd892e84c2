"""The console's error pages (400, 403, 404, 500 and a refused CSRF check): in the console's
layout with its navigation, in the user's language, with a way back; never a traceback.

`quanwang.urls` names them as Django's handler400/403/404/500, settings.CSRF_FAILURE_VIEW the
CSRF one. Django uses them only with DEBUG off; with DEBUG on it shows its debug pages.
An htmx request gets the message alone, for the part of the page it swaps.

A form that fails validation is no error page: a whole page is shown again with the errors
next to the fields (status 200); the part of a page that htmx swaps is answered with its
errors and status 422 (`part_refused`), which base.html's htmx configuration swaps in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

PAGE = "core/error.html"
FRAGMENT = "core/_error.html"
#: The status of a page part (htmx) sent back with its form's errors.
INVALID = 422


@dataclass(frozen=True)
class ErrorPage:
    status: int
    title: str | Promise
    text: str | Promise


BAD_REQUEST = ErrorPage(
    400,
    _("The request could not be handled"),
    _("Something in it was not valid. Go back, check what you entered and try again."),
)
FORBIDDEN = ErrorPage(
    403,
    _("You may not open this page"),
    _("Your roles do not allow it. Ask an administrator if your work needs it."),
)
CSRF_REFUSED = ErrorPage(
    403,
    _("The form has expired"),
    _(
        "The page was open too long, or the browser does not keep cookies for this site. "
        "Reload the page and send the form again."
    ),
)
NOT_FOUND = ErrorPage(
    404,
    _("Page not found"),
    _("The page does not exist, or what it shows is outside your scope."),
)
SERVER_ERROR = ErrorPage(
    500,
    _("Something went wrong on our side"),
    _("The error was recorded for the administrators. Try again in a moment."),
)


def _back(request: HttpRequest) -> str | None:
    """The page the user came from, when it is a page of this site (not this one)."""
    referer = request.META.get("HTTP_REFERER", "")
    try:
        host = request.get_host()
    except DisallowedHost:  # a refused Host header: the very 400 shown here
        return None
    if (
        referer
        and referer != request.build_absolute_uri()
        and url_has_allowed_host_and_scheme(referer, allowed_hosts={host})
    ):
        return referer
    return None


def error_response(request: HttpRequest, page: ErrorPage) -> HttpResponse:
    context = {"error": page, "back": _back(request)}
    if request.headers.get("HX-Request"):
        return render(request, FRAGMENT, context, status=page.status)
    return render(request, PAGE, context, status=page.status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, BAD_REQUEST)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, FORBIDDEN)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, NOT_FOUND)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    logger.info("CSRF check refused %s: %s", request.path, reason)
    return error_response(request, CSRF_REFUSED)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page. Its navigation needs the database, which may be what failed: then the
    same page without the navigation, and failing that a few fixed lines."""
    try:
        return error_response(request, SERVER_ERROR)
    except Exception:
        logger.exception("the error page itself failed; showing it without navigation")
    context: dict[str, Any] = {"error": SERVER_ERROR, "back": None}
    try:
        return HttpResponse(loader.render_to_string(PAGE, context), status=500)
    except Exception:
        logger.exception("the plain error page failed too")
    return HttpResponse(
        f"<!doctype html><meta charset='utf-8'><h1>{SERVER_ERROR.title}</h1>"
        f"<p>{SERVER_ERROR.text}</p><p><a href='/'>{_('Back to the home page')}</a></p>",
        status=500,
    )


def form_errors_text(form: Any) -> str:
    """A form's errors in one line, each after its field's label."""
    parts = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        text = " ".join(str(e) for e in errors)
        parts.append(f"{field.label}: {text}" if field is not None and field.label else text)
    return "; ".join(parts)


def part_refused(
    request: HttpRequest, *, form: Any, template: str, context: dict[str, Any], page: str
) -> HttpResponse:
    """A form of a page part refused: for htmx the part again with the errors next to the
    fields (422); without htmx (no JavaScript) back to the whole `page` with the errors as a
    message, never the part alone."""
    if request.headers.get("HX-Request"):
        return render(request, template, context | {"form": form}, status=INVALID)
    messages.error(request, form_errors_text(form))
    return redirect(page)
