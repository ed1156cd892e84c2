from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from quanwang.core.choices import AuditAction, Role
from quanwang.core.models import ApiToken, AuditRecord, OrgUnit
from quanwang.core.services.tokens import create_token
from tests import factories


def _auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_a_call_without_a_token_is_refused_with_a_clear_message(client: Client, db: None) -> None:
    response = client.get("/api/v1/org-units")

    assert response.status_code == 401
    assert response.json()["code"] == "missing"
    assert "Bearer" in response.json()["detail"]


def test_an_expired_token_is_refused_as_expired(tree: factories.Tree, client: Client) -> None:
    # Given a token whose expiry has passed
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    token, secret = create_token(user=user, name="cli")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    # When it is used
    response = client.get("/api/v1/org-units", **_auth(secret))

    # Then the answer says it expired
    assert (response.status_code, response.json()["code"]) == (401, "expired")


def test_a_wrong_token_is_refused_as_invalid(tree: factories.Tree, client: Client) -> None:
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    _token, secret = create_token(user=user, name="cli")

    response = client.get("/api/v1/org-units", **_auth(secret[:-2] + "xx"))

    assert (response.status_code, response.json()["code"]) == (401, "invalid")


def test_the_api_lists_only_the_callers_subtree(tree: factories.Tree, client: Client) -> None:
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    _token, secret = create_token(user=user, name="cli")

    response = client.get("/api/v1/org-units", **_auth(secret))

    assert response.status_code == 200
    assert {item["code"] for item in response.json()["items"]} == {"CA-1", "CA-1-G1"}


def test_the_api_filters_with_the_same_filterset_as_the_console(
    tree: factories.Tree, client: Client
) -> None:
    user = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    _token, secret = create_token(user=user, name="cli")

    response = client.get("/api/v1/org-units?level=grid", **_auth(secret))

    assert {item["code"] for item in response.json()["items"]} == {"CA-1-G1", "CB-1-G1"}


def test_creating_a_unit_with_an_over_long_name_changes_nothing(
    tree: factories.Tree, client: Client
) -> None:
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    _token, secret = create_token(user=user, name="cli")
    before = OrgUnit.objects.count()

    response = client.post(
        "/api/v1/org-units",
        {"parent_id": tree.county_a.pk, "code": "N1", "name": "长" * 101, "level": "grid"},
        content_type="application/json",
        **_auth(secret),
    )

    assert response.status_code == 422
    assert "name" in str(response.json())
    assert OrgUnit.objects.count() == before


def test_creating_a_unit_in_scope_works(tree: factories.Tree, client: Client) -> None:
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    _token, secret = create_token(user=user, name="cli")

    response = client.post(
        "/api/v1/org-units",
        {"parent_id": tree.county_a.pk, "code": "N1", "name": "新网格", "level": "grid"},
        content_type="application/json",
        **_auth(secret),
    )

    assert response.status_code == 201
    assert OrgUnit.objects.get(code="N1").path == "/P1/CA/CA-1/N1/"


def test_a_unit_under_a_wrong_level_is_refused_with_the_field(
    tree: factories.Tree, client: Client
) -> None:
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    _token, secret = create_token(user=user, name="cli")

    response = client.post(
        "/api/v1/org-units",
        {"parent_id": tree.grid_a.pk, "code": "N2", "name": "下级", "level": "county"},
        content_type="application/json",
        **_auth(secret),
    )

    assert (response.status_code, response.json()["field"]) == (422, "level")


def test_staff_come_masked_and_a_reveal_is_audited(tree: factories.Tree, client: Client) -> None:
    member = factories.staff(at=tree.grid_a, mobile="13812345678")
    user = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    _token, secret = create_token(user=user, name="cli")

    listed = client.get("/api/v1/staff", **_auth(secret)).json()["items"]
    revealed = client.post(
        f"/api/v1/staff/{member.pk}/reveal",
        {"reason": "上门核实"},
        content_type="application/json",
        **_auth(secret),
    ).json()

    assert listed[0]["mobile_masked"] == "138****5678"
    assert "13812345678" not in str(listed)
    assert revealed["mobile"] == "13812345678"
    assert AuditRecord.objects.get().action == AuditAction.VIEW_PII
