"""The error pages: in the console's layout with its navigation, in the user's language, with a
way back, and never a traceback (DEBUG off, as in production)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings
from django.utils import translation

from quanwang.core import error_views
from quanwang.core.choices import Role
from tests import factories
from tests.core.error_urls import SECRET

ERROR_URLS = "tests.core.error_urls"


@pytest.fixture
def signed_in(tree: factories.Tree) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    return client


def _assert_styled(body: str, page: error_views.ErrorPage) -> None:
    """The page in the console's layout: navigation, the page's own words, a way home."""
    assert '<nav class="capabilities"' in body
    assert 'id="error-page"' in body
    assert str(page.title) in body
    assert str(page.text) in body
    assert 'href="/"' in body
    assert SECRET not in body
    assert "Traceback" not in body


@override_settings(DEBUG=False)
def test_an_unknown_address_gives_the_styled_404_page(signed_in: Client) -> None:
    response = signed_in.get("/no-such-page/", HTTP_REFERER="http://testserver/campaigns/")

    assert response.status_code == 404
    body = response.content.decode()
    _assert_styled(body, error_views.NOT_FOUND)
    # The way back is the page the user came from, on this site.
    assert 'href="http://testserver/campaigns/"' in body


@override_settings(DEBUG=False)
def test_the_404_page_follows_the_users_language(signed_in: Client) -> None:
    zh = signed_in.get("/no-such-page/").content.decode()
    signed_in.post("/i18n/setlang/", {"language": "en", "next": "/"})
    en = signed_in.get("/no-such-page/").content.decode()

    with translation.override("zh-hans"):
        assert str(error_views.NOT_FOUND.title) in zh
        assert 'lang="zh-hans"' in zh
    assert 'lang="en"' in en
    assert "Page not found" in en


@override_settings(DEBUG=False)
def test_a_referer_on_another_site_is_no_way_back(signed_in: Client) -> None:
    body = signed_in.get("/no-such-page/", HTTP_REFERER="https://evil.example/").content.decode()

    assert "evil.example" not in body


@override_settings(DEBUG=False, ROOT_URLCONF=ERROR_URLS)
def test_a_suspicious_request_gives_the_styled_400_page(signed_in: Client) -> None:
    response = signed_in.get("/fail/400/")

    assert response.status_code == 400
    _assert_styled(response.content.decode(), error_views.BAD_REQUEST)


@override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"])
def test_a_refused_host_gives_the_400_page_without_failing_on_the_missing_user(
    signed_in: Client,
) -> None:
    # The Host check fails before the user is known: the page has no navigation then.
    response = signed_in.get("/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="error-page"' in body
    assert str(error_views.BAD_REQUEST.title) in body


@override_settings(DEBUG=False, ROOT_URLCONF=ERROR_URLS)
def test_a_refused_permission_gives_the_styled_403_page(signed_in: Client) -> None:
    response = signed_in.get("/fail/403/")

    assert response.status_code == 403
    _assert_styled(response.content.decode(), error_views.FORBIDDEN)


@override_settings(DEBUG=False)
def test_a_form_sent_without_its_csrf_token_gives_the_styled_403_page(
    tree: factories.Tree,
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    response = client.post("/org-units/new/", {"code": "X"})

    assert response.status_code == 403
    _assert_styled(response.content.decode(), error_views.CSRF_REFUSED)


@override_settings(DEBUG=False, ROOT_URLCONF=ERROR_URLS)
def test_an_unexpected_error_gives_the_styled_500_page_and_no_traceback(
    signed_in: Client,
) -> None:
    response = signed_in.get("/fail/500/")

    assert response.status_code == 500
    _assert_styled(response.content.decode(), error_views.SERVER_ERROR)


@override_settings(DEBUG=False, ROOT_URLCONF=ERROR_URLS)
def test_an_htmx_request_gets_the_message_alone(signed_in: Client) -> None:
    response = signed_in.get("/fail/403/", HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 403
    assert "<html" not in body
    assert str(error_views.FORBIDDEN.title) in body


class _BrokenUser:
    """A user whose every question fails, as when the database is what went wrong."""

    @property
    def is_authenticated(self) -> bool:
        raise RuntimeError("the database is gone")


def test_the_500_page_falls_back_to_no_navigation_when_the_navigation_fails(db: None) -> None:
    request: Any = RequestFactory().get("/somewhere/")
    request.user = _BrokenUser()

    response = error_views.server_error(request)

    body = response.content.decode()
    assert response.status_code == 500
    assert str(error_views.SERVER_ERROR.title) in body
    assert '<nav class="capabilities"' not in body


def test_a_refused_htmx_form_comes_back_as_its_part_with_the_error_by_the_field(
    tree: factories.Tree, client: Client
) -> None:
    # Given an admin on a staff member's page, who asks for the full number without a reason
    member = factories.staff(at=tree.county_a)
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    # When the form is sent by htmx
    response = client.post(f"/staff/{member.pk}/reveal/", {"reason": ""}, HTTP_HX_REQUEST="true")

    # Then the part comes back (422, which the console swaps in) with the error by the field
    body = response.content.decode()
    assert response.status_code == error_views.INVALID == 422
    assert "<html" not in body
    assert 'class="field has-error"' in body


def test_a_refused_form_part_sent_without_htmx_returns_to_its_page_with_the_error(
    tree: factories.Tree, client: Client
) -> None:
    member = factories.staff(at=tree.county_a)
    client.force_login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))

    response = client.post(f"/staff/{member.pk}/reveal/", {"reason": ""}, follow=True)

    body = response.content.decode()
    assert response.redirect_chain == [(f"/staff/{member.pk}/", 302)]
    assert '<nav class="capabilities"' in body
    assert '<ul class="messages"><li class="error">' in body
