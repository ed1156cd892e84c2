"""What each part adds to pages it does not own: the account 360 page and the enterprise
dashboard (enterprise.accounts) and the console's home page (web).

A part that adds to a page has `<part>/sections.py` with `<page>_section(**context)`, returning
the context of its template `enterprise/<part>/_<page>_section.html`, or None to add nothing
(the user may not read it, or there is nothing to show). The page renders the sections in
PARTS order.
"""

from __future__ import annotations

from enum import StrEnum
from importlib import import_module
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

PARTS = ("accounts", "persons", "grading", "work", "pipeline")


class Page(StrEnum):
    # context: account, user
    ACCOUNT = "account"
    # context: user
    DASHBOARD = "dashboard"
    # context: user
    HOME = "home"


def render_sections(*, page: Page, request: HttpRequest, **context: Any) -> list[SafeString]:
    rendered: list[SafeString] = []
    for part in PARTS:
        try:
            module = import_module(f"quanwang.enterprise.{part}.sections")
        except ModuleNotFoundError as missing:
            if missing.name != f"quanwang.enterprise.{part}.sections":
                raise
            continue
        provider = getattr(module, f"{page.value}_section", None)
        if provider is None:
            continue
        found = provider(**context)
        if found is None:
            continue
        html = render_to_string(
            f"enterprise/{part}/_{page.value}_section.html", found, request=request
        )
        rendered.append(SafeString(html))
    return rendered
