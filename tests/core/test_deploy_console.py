"""The console in production: a Content-Security-Policy on every page that no template breaks
with inline code, and logins that last less for those who can reveal personal data."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

import quanwang
from quanwang.core.choices import Role
from tests import factories
from tests.core.test_deploy_inputs import _pages

TEMPLATES = sorted(Path(quanwang.__file__).parent.glob("*/templates/**/*.html"))
# <script> elements: their attributes and their body.
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)
# onclick=, onchange=, … and htmx's hx-on attributes run code written in the markup.
INLINE_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.IGNORECASE)


def test_templates_exist_to_be_checked() -> None:
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_template_holds_inline_script_code(template: Path) -> None:
    # Given a template's source
    source = template.read_text(encoding="utf-8")

    # When its script elements and event-handler attributes are read
    inline = [
        body.strip()[:60]
        for attributes, body in SCRIPT.findall(source)
        if body.strip() and "application/json" not in attributes
    ]
    handlers = INLINE_HANDLER.findall(source)

    # Then none runs code of its own: scripts come from static files only
    assert inline == []
    assert handlers == []


@pytest.mark.parametrize("page", sorted({"/login/", *_pages()}))
def test_every_console_page_carries_the_content_security_policy(
    tree: factories.Tree, client: Client, page: str
) -> None:
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    response = client.get(page)

    policy = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy, (page, response.status_code)
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in policy


def test_the_api_docs_and_static_files_carry_the_policy_too(client: Client, db: None) -> None:
    for path in ("/api/v1/docs", "/static/vendor/htmx/htmx.min.js"):
        assert "Content-Security-Policy" in client.get(path).headers, path


def _signed_in(client: Client, user: Any) -> Any:
    """Sign in through the login page, as a person does, then open the home page."""
    assert client.post("/login/", {"username": user.username, "password": factories.PASSWORD})
    client.get("/")
    return client.session


@pytest.mark.parametrize(
    "role", [Role.GRID_MANAGER, Role.COUNTY_MANAGER, Role.PROVINCE_ADMIN, Role.ACCOUNT_MANAGER]
)
def test_a_login_that_can_reveal_personal_data_lasts_the_shorter_time(
    tree: factories.Tree, client: Client, settings: Any, role: Role
) -> None:
    # Given a role that may reveal customers' or staff's numbers
    settings.SESSION_COOKIE_AGE = 12 * 3600
    settings.QUANWANG_PII_SESSION_SECONDS = 4 * 3600
    user = factories.user(role=role, at=tree.grid_a)

    # When they sign in
    session = _signed_in(client, user)

    # Then the login ends four hours on, not twelve
    assert 4 * 3600 - 60 <= session.get_expiry_age() <= 4 * 3600


@pytest.mark.parametrize("role", [Role.CITY_MARKETER, Role.AUDITOR, Role.AGENCY])
def test_a_login_that_cannot_reveal_personal_data_lasts_the_general_time(
    tree: factories.Tree, client: Client, settings: Any, role: Role
) -> None:
    settings.SESSION_COOKIE_AGE = 12 * 3600
    settings.QUANWANG_PII_SESSION_SECONDS = 4 * 3600
    user = factories.user(role=role, at=tree.city_a)

    session = _signed_in(client, user)

    assert 12 * 3600 - 60 <= session.get_expiry_age() <= 12 * 3600


def test_a_login_ends_at_its_time_however_busy_the_session_is(
    tree: factories.Tree, client: Client, settings: Any
) -> None:
    # Given a grid manager signed in with a four-hour login
    settings.QUANWANG_PII_SESSION_SECONDS = 4 * 3600
    session = _signed_in(client, factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))
    ends = session.get_expiry_date()

    # When the session changes later (the scope switcher writes to it)
    client.post("/scope/", {"scope": ""})

    # Then its end stays where it was
    assert abs(client.session.get_expiry_date() - ends) < timedelta(seconds=5)
    assert client.session.get_expiry_date() < timezone.now() + timedelta(hours=4, seconds=5)
