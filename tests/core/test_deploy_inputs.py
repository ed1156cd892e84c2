"""Hostile input on the console's forms: a NUL byte (which PostgreSQL text cannot hold) in every
query parameter and form field of every page answers like any invalid input, never a 500."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver

from quanwang.core.choices import Role
from tests import factories
from tests.test_scoping import walk

NUL = "a\x00b"
# The names the console's forms and filters read; every page gets each of them.
FIELDS = (
    "q",
    "name",
    "name_en",
    "code",
    "level",
    "parent",
    "reason",
    "description",
    "rule",
    "state",
    "status",
    "kind",
    "snapshot",
    "model",
    "month",
    "within",
    "table",
    "mode",
    "page",
    "next",
    "scope",
    "language",
    "expires_days",
    "username",
    "password",
)


def _pages() -> list[str]:
    """Every console route without a parameter (those with one are walked by test_scoping)."""
    found = []
    for pattern, _name in walk(get_resolver().url_patterns):
        if pattern.startswith(("admin/", "api/")) or "<" in pattern or "(?P" in pattern:
            continue
        if re.search(r"[\^$\\]", pattern):
            continue
        found.append("/" + pattern)
    return sorted(set(found))


@pytest.mark.parametrize("page", _pages())
def test_a_nul_byte_in_any_field_of_a_console_page_is_not_a_server_error(
    tree: factories.Tree, client: Client, page: str
) -> None:
    # Given a province administrator (every form is open to them)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    client.force_login(admin)
    hostile: dict[str, Any] = dict.fromkeys(FIELDS, NUL)

    # When every field the console reads carries a NUL byte, as a query and as a form
    read = client.get(page, hostile)
    written = client.post(page, hostile)

    # Then each answer is an ordinary one (a page, a redirect, a refusal), never a 500
    assert read.status_code < 500, page
    assert written.status_code < 500, page


def test_a_nul_byte_in_a_records_path_or_form_is_not_a_server_error(
    tree: factories.Tree, client: Client
) -> None:
    # Given a province administrator and records of each kind the console edits
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    member = factories.staff(at=tree.grid_a)
    client.force_login(admin)
    hostile: dict[str, Any] = dict.fromkeys(FIELDS, NUL)
    pages = [
        f"/org-units/{tree.grid_a.pk}/",
        f"/org-units/{tree.grid_a.pk}/edit/",
        f"/staff/{member.pk}/",
        f"/staff/{member.pk}/reveal/",
        "/customers/a%00b/",
        "/customers/a%00b/reveal/",
        "/campaigns/1/report.%00",
        "/c/a%00b/",
    ]

    # When each is read and posted with NUL bytes
    answers = {page: (client.get(page, hostile), client.post(page, hostile)) for page in pages}

    # Then none is a server error
    assert {
        page: (read.status_code, written.status_code)
        for page, (read, written) in answers.items()
        if read.status_code >= 500 or written.status_code >= 500
    } == {}
