"""Out-of-range and malformed input gets a 422 with a message people read, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from quanwang.core.choices import Role
from quanwang.core.models import OrgUnit
from quanwang.core.services.tokens import create_token
from tests import factories

HUGE = 2**63


def _auth(user: Any) -> dict[str, str]:
    _token, secret = create_token(user=user, name="cli")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def admin_auth(tree: factories.Tree) -> dict[str, str]:
    return _auth(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))


@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/org-units", "/api/v1/audit-records"])
@pytest.mark.parametrize("parameter", ["limit", "offset"])
def test_a_page_beyond_the_bounds_is_refused_with_422_naming_the_parameter(
    client: Client, admin_auth: dict[str, str], path: str, parameter: str
) -> None:
    # When a list is asked for a limit or offset of 2^63
    response = client.get(path, {parameter: HUGE}, **admin_auth)

    # Then the answer is a 422 naming the parameter, not a server error
    assert response.status_code == 422
    assert response.json()["field"] == parameter


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/enterprise/opportunities", {"offset": 12254454594972577431552}, "offset"),
        ("/api/v1/enterprise/opportunities", {"account_id": HUGE}, "account_id"),
        ("/api/v1/performance/kpis/revenue/values", {"period": "2024Q4", "offset": HUGE}, "offset"),
        ("/api/v1/performance/boards/revenue", {"period": "2024Q4", "limit": HUGE}, "limit"),
    ],
)
def test_a_hand_paged_list_beyond_the_bounds_is_refused_with_422_naming_the_parameter(
    client: Client, admin_auth: dict[str, str], path: str, query: dict[str, Any], field: str
) -> None:
    # When a list that pages by hand is asked for past what the database takes (the fuzzer's
    # offset of 1.2e22 reached PostgreSQL's OFFSET: a 500)
    response = client.get(path, query, **admin_auth)

    # Then the answer is a 422 naming the parameter
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field


def test_the_largest_page_allowed_still_answers(client: Client, admin_auth: dict[str, str]) -> None:
    response = client.get("/api/v1/org-units", {"limit": 1000, "offset": 2**31 - 1}, **admin_auth)

    assert (response.status_code, response.json()["items"]) == (200, [])


def test_a_refused_page_says_why_in_chinese(client: Client, admin_auth: dict[str, str]) -> None:
    # Given the default language (Chinese)
    with translation.override("zh-hans"):
        # When the limit is too large
        response = client.get("/api/v1/org-units", {"limit": 5000}, **admin_auth)

    # Then the message is Chinese and names the bound
    detail = response.json()["detail"]
    assert "1000" in detail
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail), detail


@pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "\ud800"])
def test_a_control_character_in_a_new_units_name_is_refused_with_422(
    tree: factories.Tree, client: Client, admin_auth: dict[str, str], bad: str
) -> None:
    before = OrgUnit.objects.count()

    response = client.post(
        "/api/v1/org-units",
        {"parent_id": tree.county_a.pk, "code": "N1", "name": bad, "level": "grid"},
        content_type="application/json",
        **admin_auth,
    )

    assert (response.status_code, response.json()["field"]) == (422, "name")
    assert OrgUnit.objects.count() == before


def test_a_nul_byte_in_a_renamed_unit_is_refused_with_422(
    tree: factories.Tree, client: Client, admin_auth: dict[str, str]
) -> None:
    response = client.patch(
        f"/api/v1/org-units/{tree.grid_a.pk}",
        {"name": "新\x00名", "name_en": "x"},
        content_type="application/json",
        **admin_auth,
    )

    assert (response.status_code, response.json()["field"]) == (422, "name")
    tree.grid_a.refresh_from_db()
    assert "\x00" not in tree.grid_a.name


def test_a_nul_byte_in_a_reveal_reason_is_refused_with_422(
    tree: factories.Tree, client: Client, admin_auth: dict[str, str]
) -> None:
    member = factories.staff(at=tree.grid_a)

    response = client.post(
        f"/api/v1/staff/{member.pk}/reveal",
        {"reason": "核实\x00"},
        content_type="application/json",
        **admin_auth,
    )

    assert (response.status_code, response.json()["field"]) == (422, "reason")


def test_a_line_break_in_a_reveal_reason_is_kept(
    tree: factories.Tree, client: Client, admin_auth: dict[str, str]
) -> None:
    member = factories.staff(at=tree.grid_a)

    response = client.post(
        f"/api/v1/staff/{member.pk}/reveal",
        {"reason": "上门核实\n第二行\t备注"},
        content_type="application/json",
        **admin_auth,
    )

    assert response.status_code == 200


def test_a_body_that_is_not_json_is_refused_with_a_message(
    client: Client, admin_auth: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/org-units", "{not json", content_type="application/json", **admin_auth
    )

    assert response.status_code == 400
    assert response.json()["detail"]


def test_an_id_beyond_64_bits_in_the_path_is_not_found(
    client: Client, admin_auth: dict[str, str]
) -> None:
    response = client.get(f"/api/v1/org-units/{2**70}", **admin_auth)

    assert response.status_code in {404, 422}


def test_the_schema_lists_the_error_answers_of_each_operation(db: None) -> None:
    import json

    from quanwang.api import api

    # When the schema is written out as the docs and the served /openapi.json are
    schema = json.loads(json.dumps(api.get_openapi_schema(), sort_keys=True))

    # Then every operation lists 401, and the 400/404/422 its inputs can earn
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = set(operation["responses"])
            expected = {"401"}
            if "requestBody" in operation:
                expected |= {"400", "422"}
            if operation.get("parameters"):
                expected.add("422")
            if "{" in path:
                expected.add("404")
            assert expected <= answers, (method, path, answers)
    assert schema["paths"]["/api/v1/org-units"]["post"]["responses"]["422"]


def test_an_unknown_filter_value_is_refused_with_422_naming_the_filter(
    client: Client, admin_auth: dict[str, str]
) -> None:
    # When a list is filtered by a level that does not exist
    response = client.get("/api/v1/org-units", {"level": "galaxy"}, **admin_auth)

    # Then the answer names the filter, rather than claiming the list is not found
    assert (response.status_code, response.json()["field"]) == (422, "level")


def test_a_visits_due_day_out_of_range_is_refused_not_a_server_error(
    client: Client, admin_auth: dict[str, str]
) -> None:
    # When the enterprise visits due are asked for on the last day a date can hold
    response = client.get("/api/v1/enterprise/visits/due", {"on": "9999-12-31"}, **admin_auth)

    # Then it is a 422 naming the parameter (the due days are that day plus intervals)
    assert response.status_code == 422
    assert response.json()["field"] == "on"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/enterprise/opportunities", {"account_id": HUGE}, "account_id"),
        ("/api/v1/enterprise/opportunities", {"amount_fen": HUGE}, "amount_fen"),
        ("/api/v1/enterprise/opportunities", {"probability": 101}, "probability"),
        ("/api/v1/enterprise/opportunities", {"expected_close": "9999-12-31"}, "expected_close"),
        ("/api/v1/enterprise/visits", {"account_id": HUGE}, "account_id"),
        ("/api/v1/performance/targets", {"reason": "a\x00b"}, "reason"),
    ],
)
def test_a_body_field_beyond_what_the_database_holds_is_refused_with_422(
    client: Client, admin_auth: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    # Given an otherwise plausible body with one field out of range (or holding a NUL)
    base: dict[str, Any] = {
        "/api/v1/enterprise/opportunities": {
            "account_id": 1, "title": "t", "expected_close": "2025-01-01",
            "idempotency_key": "k",
        },
        "/api/v1/enterprise/visits": {
            "account_id": 1, "idempotency_key": "0f0e0d0c-0b0a-4908-8706-050403020100",
            "purpose": "p", "outcome": "o",
        },
        "/api/v1/performance/targets": {
            "kpi": "revenue", "period": "2024Q4", "key": "P1", "value": "1",
        },
    }[path]  # fmt: skip
    # When it is posted
    response = client.post(path, base | body, content_type="application/json", **admin_auth)
    # Then the answer is a 422 naming the field, not a database error
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/channels/store-coverage", "county"),
        ("/api/v1/performance/targets", "period"),
        ("/api/v1/performance/incentives/statements", "month"),
        ("/api/v1/performance/kpis/revenue/values", "period"),
        ("/api/v1/performance/boards", "unit"),
        ("/api/v1/performance/boards/revenue", "period"),
        ("/api/v1/performance/grades", "unit"),
    ],
)
def test_a_query_parameter_with_a_nul_is_refused_with_422(
    client: Client, admin_auth: dict[str, str], path: str, parameter: str
) -> None:
    # When a list is asked for with a NUL in its text parameter (PostgreSQL refuses NUL bytes)
    response = client.get(path, {parameter: "CJ\x00"}, **admin_auth)

    # Then the answer is a 422 naming the parameter, not a server error
    assert response.status_code == 422, response.content
    assert response.json()["field"] == parameter
